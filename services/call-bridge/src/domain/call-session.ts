/**
 * One live call: the caller on one side, a voice-model session on the other. Both inbound paths
 * (ARCHITECTURE.md) run through this one class, so transcripts, events, response retries,
 * recovery, control and (later) tools behave the same whichever way the audio travels:
 *
 * - Media Streams: the bridge carries the audio. It passes through as base64 µ-law both ways
 *   (no transcoding); on `speech_started` the caller barges in: Twilio `clear` at once (the
 *   server cancels the response itself, `interrupt_response`), and the assistant item is
 *   truncated at what was heard (marks, see {@link AgentAudioOut}).
 * - SIP: OpenAI carries the audio over SIP/RTP and handles barge-in itself; the bridge holds the
 *   sideband socket (openai-realtime.md 6.5), and ending the call is a REST hangup.
 *
 * Provider faults (issue 4): a dropped provider socket is reconnected by the adapter, and the
 * session restores the new provider session (config and conversation so far) and answers if an
 * answer was owed, while the caller hears at most a pause. A failed response (server or
 * rate-limit error) is asked for again with backoff. When recovery runs out, the caller hears a
 * short apology (through Twilio, since the voice model is gone) and the call ends with reason
 * `provider-error`.
 *
 * No network imports: both legs, the apology and the event sink are injected, so it is tested
 * with fakes; timers are plain `setTimeout`s that every path clears.
 */
import type { CallEndReason, HandoffTransferResult } from '@app/contracts';

import { AgentAudioOut, type TwilioLeg, type TwilioOutbound } from './agent-audio-out.js';
import { ConversationLog } from './conversation-log.js';
import type {
  FunctionCall,
  ProviderError,
  RealtimeHandlers,
  RealtimeLeg,
  ResponseOptions,
} from './realtime-leg.js';
import { ToolCalls, type RunTool, type ToolCalledEvent, type ToolPolicy } from './tool-calls.js';

export type { TwilioLeg, TwilioOutbound };

export type Direction = 'caller-to-openai' | 'openai-to-caller';

/** Call events the session emits; the wiring publishes them to `calls.<callId>.*`. */
export type SessionEvent =
  | { event: 'answered'; data: { pod?: string } }
  | {
      event: 'transcript';
      data: { role: 'caller' | 'agent'; text: string; itemId?: string; final: boolean };
    }
  | { event: 'barge-in'; data: { itemId: string; audioEndMs: number; reactionMs: number } }
  | { event: 'tool-called'; data: ToolCalledEvent }
  | {
      event: 'error';
      data: {
        code: string;
        message: string;
        source: 'openai' | 'bridge' | 'tool-runner' | 'handoff';
        retryable: boolean;
      };
    }
  | {
      event: 'ended';
      data: { reason: CallEndReason; durationMs: number; metrics: Record<string, number> };
    };

/** Measurements the session reports as they happen (metrics). All optional. */
export interface SessionObserver {
  /** A frame forwarded, `latencyMs` after it arrived. */
  frameForwarded?(direction: Direction, latencyMs: number): void;
  /** A frame dropped: a socket's buffer was full, or too much audio waited for the provider. */
  frameDropped?(direction: Direction): void;
  /**
   * speech_started to clear sent; the truncation's possible error (heard audio no mark
   * confirmed); speech_started to truncate sent. Both times run from the handler's start (not the
   * frame's arrival) until the message is handed to its socket.
   */
  bargeIn?(reactionMs: number, truncationErrorMs: number, truncateMs?: number): void;
  providerError?(code: string): void;
  /** Voice webhook to the first session.update sent. */
  setup?(ms: number): void;
  /** The provider leg being opened until it is open (TCP, TLS, WebSocket upgrade). */
  providerConnected?(ms: number): void;
  /** A dropped provider connection was restored. */
  recovered?(): void;
  /** A function call answered: `ok` or the error code the model got. */
  toolCalled?(outcome: string, latencyMs: number): void;
  /** A filler line asked for while a tool was slow. */
  toolFiller?(): void;
  /** A human asked for by the bridge; `outcome`: accepted, rejected or unavailable. */
  handoffAsked?(trigger: HandoffAsk['trigger'], outcome: HandoffOutcome['status']): void;
}

export interface RecoveryPolicy {
  /** Longest a reconnect may take before the call is given up, in ms. @defaultValue 5 000 */
  reconnectTimeoutMs: number;
  /** Failed responses asked for again, per call. @defaultValue 2 */
  responseRetries: number;
  /** First retry delay, doubling, in ms. @defaultValue 250 */
  retryDelayMs: number;
}

/** What asks for a human: a key press, or a rule (repeated tool failures). */
export interface HandoffAsk {
  trigger: 'dtmf' | 'rule';
  reason: string;
}

/** The handoff service's answer, or `unavailable` when it could not be asked. */
export type HandoffOutcome = HandoffTransferResult | { status: 'unavailable'; message: string };

/** How the caller's audio reaches the model. */
export type CallMedia =
  /** Twilio Media Streams: the bridge forwards the audio both ways. */
  | { kind: 'twilio'; streamSid: string; twilio: TwilioLeg }
  /**
   * SIP: the provider carries the audio. `hangUp` ends the call at the provider when the end
   * comes from our side (control, drain, failure); it must not throw.
   */
  | { kind: 'provider'; hangUp: (reason: CallEndReason) => void };

export interface CallSessionDeps {
  callId: string;
  /** The pod that owns the call, recorded with `answered`. */
  pod?: string;
  media: CallMedia;
  /** Opens the provider leg; the session passes the handlers it wants called. */
  openRealtime: (handlers: RealtimeHandlers) => RealtimeLeg;
  /** Emits one call event; must not throw (publishing failures are the sink's to log). */
  emit: (event: SessionEvent) => void;
  /** Whether the agent speaks first, and the opening response's instructions. */
  greeting?: { first: boolean; instructions?: string | null };
  /**
   * The agent's recording/AI notice (issue 10): the first response of the call asks the model to
   * say `text` word for word, with no tools, before the greeting and whether or not the agent
   * greets first. `said` is called once, when that response completed (not when the caller cut
   * it short or it failed): the wiring records the notice as given.
   */
  disclosure?: { text: string; said: () => void } | null;
  /**
   * Tells the caller the call cannot go on and hangs up through Twilio (`<Say>`). Resolves
   * when done or failed; null when Twilio is not configured (the stream is just closed).
   */
  apologize?: (() => Promise<void>) | null;
  recovery?: Partial<RecoveryPolicy>;
  /** Epoch ms when the voice webhook arrived (stream token), for the setup time. */
  setupStartMs?: number;
  observer?: SessionObserver;
  /** ms clock. @defaultValue performance.now */
  now?: () => number;
  /** Epoch ms clock. @defaultValue Date.now */
  epochNow?: () => number;
  /** Called once when the call ended (both legs closed, `ended` emitted). */
  onEnded?: (reason: CallEndReason) => void;
  /** Runs the model's function calls (the tool-runner); null: each call fails as unavailable. */
  runTool?: RunTool | null;
  toolPolicy?: Partial<ToolPolicy>;
  /** Asks the handoff service for a human; null: key presses and rules ask nobody. */
  handOff?: ((ask: HandoffAsk) => Promise<HandoffOutcome>) | null;
  /** The key that asks for a human. @defaultValue `'0'`; null: none */
  handoffDigit?: string | null;
  /**
   * Longest wait for the goodbye's audio to play out after `end_call` before hanging up, in ms.
   * @defaultValue 10 000
   */
  goodbyeMaxMs?: number;
}

/** Said to the model when a human was asked for on the caller's behalf (not by a tool). */
export function handoffNote(ask: HandoffAsk, outcome: HandoffOutcome): string {
  const why =
    ask.trigger === 'dtmf'
      ? `The caller pressed ${ask.reason.replace(/^caller pressed /, '')} to speak to a person.`
      : `The call is being handed to a person (${ask.reason}).`;
  if (outcome.status === 'accepted') {
    return `${why} A person will take the call now: tell the caller in one short sentence that you are transferring them.`;
  }
  const reason =
    outcome.status === 'rejected' ? outcome.reason : 'the transfer service is unavailable';
  return `${why} No person is available (${reason}). Tell the caller, and offer to schedule a callback or to take a message.`;
}

/**
 * The response instructions that make the model say `text` and nothing else. Quoted with double
 * quotes (the agents API refuses one inside a disclosure), as Realtime's own examples do
 * (`Say "…"`), which the OpenAI simulator obeys verbatim.
 */
export function disclosureInstructions(text: string): string {
  return `Say "${text}" word for word, and nothing else.`;
}

const UNAVAILABLE_TOOLS: RunTool = () =>
  Promise.resolve({
    ok: false,
    error: {
      code: 'TOOLS_UNAVAILABLE',
      message: 'tools are not available on this call',
      retryable: false,
    },
  });

/** Errors that mean nothing for the call (openai-realtime.md 9, "Handling"). */
const HARMLESS = new Set([
  // With server VAD's interrupt_response the server may cancel just before our cancel arrives.
  'response_cancel_not_active',
  'input_audio_buffer_commit_empty',
  // VAD started a response while we asked for one: one answer is under way either way.
  'conversation_already_has_active_response',
]);

/** Errors after which the response is asked for again. */
const isRetryable = (e: ProviderError) =>
  e.type === 'server_error' || e.code === 'server_error' || e.code === 'rate_limit_exceeded';

/** Caller audio held while the provider connects or reconnects: 5 s of 20 ms frames. */
const MAX_HELD_FRAMES = 250;

type State = 'connecting' | 'live' | 'recovering' | 'failing' | 'ended';

export class CallSession implements RealtimeHandlers {
  readonly callId: string;
  readonly #deps: CallSessionDeps;
  readonly #now: () => number;
  readonly #policy: RecoveryPolicy;
  /** Agent audio on its way to Twilio; null when the provider carries the audio (SIP). */
  readonly #out: AgentAudioOut | null;
  /** The provider ended the call itself (SIP caller hung up): nothing to hang up. */
  #providerEnded = false;
  readonly #log = new ConversationLog();
  readonly #startedAt: number;
  #state: State = 'connecting';
  #realtime: RealtimeLeg | null = null;
  /** Caller frames waiting for the provider (connecting, recovering). */
  #held: string[] = [];
  #responseActive = false;
  /** Whether the provider owes the caller an answer after a reconnect. */
  #owedAnswer = false;
  /** The first connection failed before it opened: the greeting is still to come. */
  #greetPending = false;
  /**
   * The disclosure: `pending` until asked for, `speaking` while its response runs, `done` after
   * (said, or cut short by the caller). `none` when the agent has none.
   */
  #disclosure: 'none' | 'pending' | 'speaking' | 'done' = 'none';
  /** Media Streams: the disclosure's audio item, and whether a barge-in cut it before its end. */
  #disclosureItem: string | null = null;
  #disclosureCut = false;
  #disclosureTimer: NodeJS.Timeout | null = null;
  #timer: NodeJS.Timeout | null = null;
  #retries = 0;
  readonly #counts = {
    bargeIns: 0,
    framesIn: 0,
    framesOut: 0,
    framesDropped: 0,
    recoveries: 0,
    providerErrors: 0,
  };
  #setupMs: number | undefined;
  /** When the provider leg was first asked for (ms, {@link CallSessionDeps.now}). */
  #connectingSince = 0;
  #firstAudioMs: number | undefined;
  readonly #tools: ToolCalls;
  /** A human was asked for and the answer is awaited (or was yes): no second ask. */
  #handoffAsked = false;
  /** System notes for the model waiting for the active response to finish. */
  #notes: string[] = [];
  /**
   * `end_call`: `armed` once the tool answered; `goodbye` once a response was asked for to say
   * goodbye (only when the calling response said nothing); `closing` once the goodbye is
   * generated and its audio is playing out.
   */
  #hangup: 'none' | 'armed' | 'goodbye' | 'closing' = 'none';
  /**
   * A human accepted the call (key press, rule or `transfer_to_human`): the handoff service
   * moves a Media Streams call by a Twilio call update, which stops the stream, so that stop is
   * the transfer, not the caller hanging up. A system note from outside (call-control inject:
   * the handoff service telling the model the transfer failed) means the caller stays with us.
   */
  #transferring = false;
  /** Whether the current (or last) response produced audio: a goodbye said with `end_call`. */
  #responseSpoke = false;
  #hangupTimer: NodeJS.Timeout | null = null;

  constructor(deps: CallSessionDeps) {
    this.#deps = deps;
    this.callId = deps.callId;
    this.#now = deps.now ?? (() => performance.now());
    this.#policy = {
      reconnectTimeoutMs: 5_000,
      responseRetries: 2,
      retryDelayMs: 250,
      ...deps.recovery,
    };
    this.#startedAt = this.#now();
    if (deps.disclosure) this.#disclosure = 'pending';
    const media = deps.media;
    this.#out =
      media.kind === 'twilio'
        ? new AgentAudioOut(media.twilio, media.streamSid, {
            sent: (receivedAt) => {
              this.#counts.framesOut += 1;
              this.#firstAudioMs ??= Math.round(this.#now() - this.#startedAt);
              this.#deps.observer?.frameForwarded?.('openai-to-caller', this.#now() - receivedAt);
            },
            dropped: () => this.#dropped('openai-to-caller'),
          })
        : null;
    this.#tools = new ToolCalls(
      deps.runTool ?? UNAVAILABLE_TOOLS,
      {
        responseActive: () => this.#responseActive,
        sendOutput: (callId, output) => {
          this.#log.answered(callId, output);
          if (this.#state === 'live') this.#realtime?.sendToolOutput(callId, output);
        },
        createResponse: (options) => {
          if (options?.noTools && this.#state === 'live') this.#deps.observer?.toolFiller?.();
          this.#respond(options);
        },
        emitCalled: (data) => {
          this.#deps.observer?.toolCalled?.(data.error?.code ?? 'ok', data.latencyMs);
          this.#deps.emit({ event: 'tool-called', data });
        },
        endCall: () => {
          if (this.#hangup === 'none') this.#hangup = 'armed';
        },
        transferring: () => {
          this.#transferring = true;
        },
        failedRepeatedly: (failures) =>
          this.#askForHuman({ trigger: 'rule', reason: `${failures} tool calls failed` }),
        now: this.#now,
      },
      deps.toolPolicy,
    );
  }

  get ended(): boolean {
    return this.#state === 'ended';
  }

  /** Opens the provider leg and announces the call as answered. */
  start(): void {
    this.#deps.emit({ event: 'answered', data: this.#deps.pod ? { pod: this.#deps.pod } : {} });
    this.#connectingSince = this.#now();
    this.#realtime = this.#deps.openRealtime(this);
  }

  // --- Twilio → bridge ---

  /**
   * One caller frame. @param receivedAt - When its WebSocket message arrived (performance.now
   * ms), for the forwarding latency. @defaultValue now
   */
  callerAudio(payload: string, receivedAt: number = this.#now()): void {
    if (this.#state === 'live' && this.#realtime) {
      if (this.#realtime.sendAudio(payload)) {
        this.#counts.framesIn += 1;
        this.#deps.observer?.frameForwarded?.('caller-to-openai', this.#now() - receivedAt);
      } else this.#dropped('caller-to-openai');
      return;
    }
    if (this.#state !== 'connecting' && this.#state !== 'recovering') return;
    // Held until the provider is ready; the oldest audio goes first when too much waits.
    if (this.#held.length >= MAX_HELD_FRAMES) {
      this.#held.shift();
      this.#dropped('caller-to-openai');
    }
    this.#held.push(payload);
  }

  markEchoed(name: string): void {
    this.#out?.clock.echoed(name, this.#now());
  }

  // --- provider → bridge (RealtimeHandlers) ---

  opened(): void {
    if (this.#state !== 'connecting') return;
    this.#deps.observer?.providerConnected?.(this.#now() - this.#connectingSince);
    this.#greet();
    this.#goLive();
  }

  audioDelta(itemId: string, delta: string, receivedAt: number): void {
    if (this.#state !== 'live') return;
    this.#responseSpoke = true;
    if (this.#disclosure === 'speaking') this.#disclosureItem ??= itemId;
    this.#log.opened(itemId, 'agent');
    if (this.#out) this.#out.delta(itemId, delta, receivedAt);
    // The provider plays it itself (SIP): its first delta is as near to first audio as we see.
    else this.#firstAudioMs ??= Math.round(this.#now() - this.#startedAt);
  }

  audioDone(itemId: string): void {
    if (this.#state === 'live') this.#out?.done(itemId);
  }

  responseCreated(): void {
    this.#responseActive = true;
    this.#responseSpoke = false;
  }

  responseDone(status: string): void {
    this.#responseActive = false;
    if (status === 'completed') this.#retries = 0;
    if (this.#state !== 'live') return;
    if (this.#disclosure === 'speaking') {
      this.#disclosed(status);
      return;
    }
    if (this.#hangup === 'goodbye') {
      this.#closeAfterPlayback();
      return;
    }
    const note = this.#notes.shift();
    if (note !== undefined) {
      this.#realtime?.inject(note, 'system');
      return;
    }
    this.#tools.responseDone();
  }

  functionCall(call: FunctionCall): void {
    if (this.#state === 'ended' || this.#state === 'failing') return;
    this.#log.called(call.itemId, call.callId, call.name, call.arguments);
    this.#tools.called(call);
  }

  /** A key press: Media Streams `dtmf`, or the SIP sideband's `dtmf_event_received`. */
  dtmf(digit: string): void {
    if (this.#state !== 'live') return;
    const key = this.#deps.handoffDigit === undefined ? '0' : this.#deps.handoffDigit;
    if (key === null || digit !== key) return;
    this.#askForHuman({ trigger: 'dtmf', reason: `caller pressed ${digit}` });
  }

  playbackStopped(): void {
    // SIP: the provider played the goodbye out.
    if (this.#hangup === 'closing') this.end('agent-hangup');
  }

  callerCommitted(itemId: string): void {
    this.#log.opened(itemId, 'caller');
  }

  callerTranscript(itemId: string, text: string): void {
    this.#log.transcribed(itemId, 'caller', text);
    this.#deps.emit({ event: 'transcript', data: { role: 'caller', text, final: true, itemId } });
  }

  agentTranscript(itemId: string, text: string): void {
    this.#log.transcribed(itemId, 'agent', text);
    this.#deps.emit({ event: 'transcript', data: { role: 'agent', text, final: true, itemId } });
  }

  /** `input_audio_buffer.speech_started`: the caller talks over the agent. */
  speechStarted(): void {
    if (this.#state !== 'live') return;
    const t0 = this.#now();
    const out = this.#out;
    if (!out) {
      // SIP: the provider stops its own audio and truncates what the caller did not hear.
      if (this.#responseActive) this.#counts.bargeIns += 1;
      this.#responseActive = false;
      return;
    }
    if (!out.clock.playing && !this.#responseActive) return;
    const cut = out.clear(t0);
    const reaction = Math.max(0, this.#now() - t0);
    const reactionMs = Math.round(reaction);
    // The session config sets `interrupt_response`, so the server has already cancelled the
    // response (openai-realtime.md 2.1); a `response.cancel` of ours would only race it and
    // fail with response_cancel_not_active (§9).
    this.#responseActive = false;
    if (!cut) return;
    if (cut.itemId === this.#disclosureItem) this.#disclosureCut = true;
    this.#realtime?.truncate(cut.itemId, cut.heardMs);
    // Sent in the same tick as the clear: later by one message's serialise and write.
    const truncateMs = Math.max(0, this.#now() - t0);
    this.#counts.bargeIns += 1;
    // The part of the truncation point that rests on elapsed time rather than an echoed mark:
    // the bound of its error.
    this.#deps.observer?.bargeIn?.(reaction, cut.heardMs - cut.confirmedMs, truncateMs);
    this.#deps.emit({
      event: 'barge-in',
      data: { itemId: cut.itemId, audioEndMs: cut.heardMs, reactionMs },
    });
  }

  providerError(error: ProviderError): void {
    if (this.#state === 'ended' || this.#state === 'failing') return;
    if (HARMLESS.has(error.code)) return;
    this.#counts.providerErrors += 1;
    this.#deps.observer?.providerError?.(error.code);
    const retryable = isRetryable(error);
    this.#deps.emit({
      event: 'error',
      data: { code: error.code, message: error.message, source: 'openai', retryable },
    });
    if (!retryable) return;
    // The response the caller waits for failed: ask again, a bounded number of times.
    this.#responseActive = false;
    if (this.#disclosure === 'speaking') this.#disclosure = 'pending';
    if (this.#state !== 'live') {
      this.#owedAnswer = true;
      return;
    }
    if (this.#retries >= this.#policy.responseRetries) {
      this.#fail('realtime_response_failed', `responses kept failing (${error.code})`);
      return;
    }
    const delay = this.#policy.retryDelayMs * 2 ** this.#retries;
    this.#retries += 1;
    this.#setTimer(delay, () => {
      if (this.#state === 'live') {
        // The failed response was the disclosure: it is still owed, before anything else.
        if (this.#disclosure === 'pending') this.#opening();
        else this.#realtime?.createResponse();
      } else if (this.#state === 'recovering') this.#owedAnswer = true;
    });
  }

  malformed(message: string): void {
    if (this.#state === 'ended') return;
    this.#counts.providerErrors += 1;
    this.#deps.observer?.providerError?.('malformed_event');
    this.#deps.emit({
      event: 'error',
      data: { code: 'realtime_malformed_event', message, source: 'openai', retryable: true },
    });
  }

  interrupted(closeCode: number): void {
    if (this.#state !== 'live' && this.#state !== 'connecting') return;
    const wasLive = this.#state === 'live';
    this.#state = 'recovering';
    // The cut answer is given again in full by the new session; what Twilio still holds of it
    // would only be heard twice. A first connection that never opened still owes the greeting.
    this.#greetPending = !wasLive;
    // A disclosure cut by the drop is said again, in full, first thing on the new session.
    if (this.#disclosure === 'speaking') this.#disclosure = 'pending';
    // Over SIP only the control socket dropped: the provider's session and audio went on, and
    // it answers by itself; asking again would answer twice.
    this.#owedAnswer =
      this.#out !== null && wasLive && (this.#responseActive || this.#log.callerSpokeLast);
    this.#responseActive = false;
    this.#out?.clear(this.#now());
    this.#deps.emit({
      event: 'error',
      data: {
        code: 'realtime_disconnected',
        message: `the provider connection dropped (${closeCode}); reconnecting`,
        source: 'openai',
        retryable: true,
      },
    });
    this.#setTimer(this.#policy.reconnectTimeoutMs, () =>
      this.#fail(
        'realtime_reconnect_timeout',
        `no new provider connection within ${this.#policy.reconnectTimeoutMs} ms`,
      ),
    );
  }

  restored(): void {
    if (this.#state !== 'recovering') return;
    this.#clearTimer();
    this.#realtime?.restore(this.#log.history());
    if (this.#greetPending) this.#greet();
    else if (this.#disclosure === 'pending') this.#opening();
    else if (this.#owedAnswer) this.#realtime?.createResponse();
    this.#owedAnswer = false;
    this.#greetPending = false;
    this.#counts.recoveries += 1;
    this.#deps.observer?.recovered?.();
    this.#goLive();
  }

  hungUp(): void {
    if (this.#state === 'ended') return;
    this.#providerEnded = true;
    this.end('caller-hangup');
  }

  lost(code: number, reason: string): void {
    this.#fail('realtime_lost', `the provider connection closed (${code} ${reason})`);
  }

  // --- control ---

  /** Adds an operator's or a system message to the live conversation; false once ended. */
  inject(text: string, role: 'system' | 'user'): boolean {
    if (this.#state !== 'live' || !this.#realtime) return false;
    this.#transferring = false;
    this.#realtime.inject(text, role);
    return true;
  }

  /**
   * Ends the call once: closes both legs and emits `ended`. Idempotent. While the call is being
   * given up after a provider failure, any end (Twilio's `stop` after the apology) keeps reason
   * `provider-error`.
   * @param reason - `caller-hangup` when Twilio stopped or closed the stream.
   */
  end(reason: CallEndReason): void {
    if (this.#state === 'ended') return;
    const final: CallEndReason =
      this.#state === 'failing'
        ? 'provider-error'
        : reason === 'caller-hangup' && this.#transferring && this.#out !== null
          ? 'transferred'
          : reason;
    this.#state = 'ended';
    this.#clearTimer();
    this.#tools.close();
    if (this.#hangupTimer) clearTimeout(this.#hangupTimer);
    this.#hangupTimer = null;
    if (this.#disclosureTimer) clearTimeout(this.#disclosureTimer);
    this.#disclosureTimer = null;
    this.#held = [];
    this.#realtime?.close();
    const abnormal = final === 'error' || final === 'provider-error';
    const media = this.#deps.media;
    if (media.kind === 'twilio') {
      media.twilio.close(abnormal ? 1011 : 1000, abnormal ? 'bridge error' : 'call ended');
    } else if (!this.#providerEnded) media.hangUp(final);
    const metrics: Record<string, number> = { ...this.#counts };
    if (this.#setupMs !== undefined) metrics.setupMs = this.#setupMs;
    if (this.#firstAudioMs !== undefined) metrics.firstAudioMs = this.#firstAudioMs;
    this.#deps.emit({
      event: 'ended',
      data: {
        reason: final,
        durationMs: Math.max(0, Math.round(this.#now() - this.#startedAt)),
        metrics,
      },
    });
    this.#deps.onEnded?.(final);
  }

  // --- internals ---

  /** The first response of the call, when the agent speaks first; also measures set-up. */
  #greet(): void {
    if (this.#deps.setupStartMs !== undefined) {
      this.#setupMs = Math.max(0, (this.#deps.epochNow ?? Date.now)() - this.#deps.setupStartMs);
      this.#deps.observer?.setup?.(this.#setupMs);
    }
    this.#opening();
  }

  /** The disclosure while it is owed, else the greeting when the agent speaks first. */
  #opening(): void {
    const disclosure = this.#deps.disclosure;
    if (disclosure && this.#disclosure === 'pending') {
      this.#disclosure = 'speaking';
      this.#realtime?.createResponse(disclosureInstructions(disclosure.text), { noTools: true });
      return;
    }
    this.#openingLine();
  }

  #openingLine(): void {
    const greeting = this.#deps.greeting ?? { first: true };
    if (greeting.first) this.#realtime?.createResponse(greeting.instructions ?? undefined);
  }

  /**
   * The disclosure's response is done. Completed: it was said, so it is recorded, and the agent
   * greets if it speaks first. Cancelled: the caller spoke over it (barge-in) and the model now
   * answers them: no record, and no greeting on top of that answer. Failed or incomplete: still
   * owed; a retryable error asks for it again ({@link providerError}).
   */
  #disclosed(status: string): void {
    if (status === 'completed') {
      this.#disclosure = 'done';
      this.#openingLine();
      this.#recordWhenHeard();
      return;
    }
    if (status === 'cancelled') {
      this.#disclosure = 'done';
      return;
    }
    this.#disclosure = 'pending';
  }

  /**
   * Records the disclosure once the caller heard it. Media Streams: generation runs ahead of
   * playback, so only when Twilio has played out what it held (every mark echoed), and not if
   * the caller cut the disclosure's own audio or the call ended first. SIP: the provider plays it
   * and a barge-in there cancels the response, so a completed one was heard.
   */
  #recordWhenHeard(): void {
    const out = this.#out;
    const check = () => {
      this.#disclosureTimer = null;
      if (this.#state === 'ended' || this.#disclosureCut) return;
      if (out !== null && out.clock.playing) {
        this.#disclosureTimer = setTimeout(check, 50);
        return;
      }
      this.#deps.disclosure?.said();
    };
    check();
  }

  /**
   * Asks the model for a response: now when live, after the restore when recovering (the new
   * session owes it). A filler is only worth saying now.
   */
  #respond(options: ResponseOptions = {}): void {
    if (this.#state === 'recovering' && !options.noTools) this.#owedAnswer = true;
    if (this.#state !== 'live') return;
    if (this.#hangup === 'armed' && !options.noTools) {
      // end_call's own response said the goodbye (as the tool asks): nothing more to say.
      if (this.#responseSpoke) {
        this.#closeAfterPlayback();
        return;
      }
      this.#hangup = 'goodbye';
    }
    this.#realtime?.createResponse(options.instructions, options.noTools ? { noTools: true } : {});
  }

  /** A system note for the model, spoken to at once or after the active response. */
  #tell(note: string): void {
    if (this.#state !== 'live') return;
    if (this.#responseActive) this.#notes.push(note);
    else this.#realtime?.inject(note, 'system');
  }

  #askForHuman(ask: HandoffAsk): void {
    const handOff = this.#deps.handOff;
    if (!handOff || this.#handoffAsked) return;
    this.#handoffAsked = true;
    void handOff(ask).then((outcome) => {
      this.#deps.observer?.handoffAsked?.(ask.trigger, outcome.status);
      if (this.#state === 'ended') return;
      // A caller who heard "nobody is free" may press 0 again later.
      if (outcome.status !== 'accepted') this.#handoffAsked = false;
      else this.#transferring = true;
      if (outcome.status === 'unavailable') {
        this.#deps.emit({
          event: 'error',
          data: {
            code: 'HANDOFF_UNAVAILABLE',
            message: outcome.message,
            source: 'handoff',
            retryable: true,
          },
        });
      }
      this.#tell(handoffNote(ask, outcome));
    });
  }

  /**
   * After `end_call`'s goodbye was generated: hang up once the caller heard it (Twilio: every
   * mark echoed; SIP: the provider's playback stopped), or after {@link CallSessionDeps.goodbyeMaxMs}.
   */
  #closeAfterPlayback(): void {
    this.#hangup = 'closing';
    const deadline = this.#now() + (this.#deps.goodbyeMaxMs ?? 10_000);
    const check = () => {
      this.#hangupTimer = null;
      if (this.#state === 'ended') return;
      const out = this.#out;
      const played = out !== null && !out.clock.playing;
      if (played || this.#now() >= deadline) {
        this.end('agent-hangup');
        return;
      }
      this.#hangupTimer = setTimeout(check, 50);
    };
    check();
  }

  #goLive(): void {
    this.#state = 'live';
    const held = this.#held;
    this.#held = [];
    for (const payload of held) this.callerAudio(payload);
  }

  #dropped(direction: Direction): void {
    this.#counts.framesDropped += 1;
    this.#deps.observer?.frameDropped?.(direction);
  }

  /** Gives the call up: apology through Twilio, then the end. */
  #fail(code: string, message: string): void {
    if (this.#state === 'ended' || this.#state === 'failing') return;
    this.#state = 'failing';
    this.#clearTimer();
    this.#held = [];
    this.#out?.clear(this.#now());
    this.#realtime?.close();
    this.#deps.emit({
      event: 'error',
      data: { code, message, source: 'openai', retryable: false },
    });
    const apologize = this.#deps.apologize;
    if (!apologize) {
      this.end('provider-error');
      return;
    }
    // Twilio's `stop` usually ends the call first (its new TwiML replaced the stream).
    void apologize().finally(() => this.end('provider-error'));
  }

  #setTimer(ms: number, run: () => void): void {
    this.#clearTimer();
    this.#timer = setTimeout(() => {
      this.#timer = null;
      run();
    }, ms);
  }

  #clearTimer(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }
}
