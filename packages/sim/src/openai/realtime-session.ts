/**
 * One Realtime session: its config, conversation, input buffer and at most one active response
 * (openai-realtime.md §3–§5). Transport-agnostic: WebSockets attach as {@link SessionSink}s (one
 * for `?model=` sessions; any number of sideband sockets for SIP calls, §6.5), and SIP calls feed
 * audio in directly and take audio out through an {@link AudioOut}.
 */
import type { Logger } from '@app/platform';

import { epochNowMs } from '../clock.js';
import type { ScenarioBook } from '../scenario-book.js';
import type { Scenario } from '../scenario.js';
import { handleClientEvent } from './client-event-handler.js';
import { Conversation, type ConversationItem } from './conversation.js';
import { ClientEventError, ERROR_CODE, ERROR_TYPE, newId } from './errors.js';
import type { Faults } from './faults.js';
import { InputAudio } from './input-audio.js';
import { malformedFrame } from './malformed-frames.js';
import { type Pacing, type ResponseRun } from './response-generator.js';
import { type ResponseCue } from './scenario-model.js';
import { type SessionConfig } from './session-config.js';
import { TurnTaking } from './turn-taking.js';

/** Where a session's server events go (a WebSocket, in practice). */
export interface SessionSink {
  /**
   * Writes one frame: a string as a text frame, a Buffer as a binary one (only the
   * `malformedEvents` fault sends those). Returns false when the socket is no longer open.
   */
  send(data: string | Buffer): boolean;
  close(code: number, reason: string): void;
  /** Drops the connection without a close frame (the client sees 1006). */
  terminate(): void;
}

/** SIP playback of the model's audio to the caller (the server owns the output buffer, §5). */
export interface AudioOut {
  play(itemId: string, responseId: string, bytes: Buffer): void;
  /** Drops unplayed audio; returns what had played of the current item. */
  clear(): { itemId: string; responseId: string; playedMs: number } | null;
}

/** Bad input from the system under test, kept per session for tests to assert on. */
export interface BadInput {
  atMs: number;
  kind: string;
  code: string | null;
  message: string;
  eventType?: string;
}

/** One server event as it was written to the session's socket(s). */
export interface SentEvent {
  type: string;
  /**
   * When it was written (after any `eventDelayMs`), in fractional ms since the Unix epoch: the
   * clock of the Twilio call recording's `atEpochMs`.
   */
  atEpochMs: number;
  /** The item the event is about (`item_id`, or `item.id`), when it names one. */
  itemId?: string;
}

/** One line of what was said, for test assertions and the control API. */
export interface SaidLine {
  role: 'caller' | 'agent';
  text: string;
  atMs: number;
  /** The output item, for agent lines (so a truncation can shorten the line). */
  itemId?: string;
}

export interface SessionOptions {
  config: SessionConfig;
  kind: 'ws' | 'sip';
  callId?: string;
  scenarios: ScenarioBook;
  pacing: Pacing;
  faults: Faults;
  log: Logger;
  /** Audio delta size, ms. @defaultValue 100 */
  chunkMs?: number;
  onClosed?(session: RealtimeSession): void;
}

/** An agent line cut short by the caller, as `sim call` prints it. */
function interruptedLine(heard: string): string {
  return heard ? `${heard} [interrupted]` : '[interrupted]';
}

interface Outgoing {
  text: string;
  summary: Omit<SentEvent, 'atEpochMs'>;
  malformed?: string | Buffer;
}

export class RealtimeSession {
  readonly id = newId('sess');
  readonly kind: 'ws' | 'sip';
  readonly callId: string | undefined;
  readonly createdAt = Date.now();
  readonly conversation = new Conversation(newId('conv'));
  readonly input = new InputAudio();
  readonly turns: TurnTaking;
  readonly badInputs: BadInput[] = [];
  readonly said: SaidLine[] = [];
  /**
   * Every server event written to at least one socket, in order: type, time and item only (no
   * payloads), so a long call stays cheap. Malformed fault frames are not events and are not here.
   */
  readonly sent: SentEvent[] = [];
  readonly faults: Faults;
  readonly log: Logger;
  readonly pacing: Pacing;
  readonly chunkMs: number;
  config: SessionConfig;
  scenario: Scenario | undefined;
  runId: number | undefined;
  active: ResponseRun | null = null;
  audioOut: AudioOut | null = null;
  /** Whether the model has produced audio (voice is fixed after that, §2). */
  spokeOnce = false;
  /** Function calls by call_id → the caller turn they answered. */
  readonly toolCalls = new Map<string, number | undefined>();
  /** call_ids of function calls the client created (replayed history, not awaiting output). */
  readonly replayedCalls = new Set<string>();
  /** Cues waiting for a response (caller turns, tool outputs), oldest first. */
  readonly cues: ResponseCue[] = [];
  responses = 0;
  closed = false;
  /** Output items truncated by a barge-in before their line was written to `said`. */
  readonly #truncatedPending = new Set<string>();
  readonly #sinks = new Set<SessionSink>();
  readonly #scenarios: ScenarioBook;
  #outbox: Promise<void> = Promise.resolve();
  /** Malformed frames sent so far (the `malformedEvents` fault cycles through the kinds). */
  #malformed = 0;
  #expiry: NodeJS.Timeout | undefined;
  readonly #onClosed: ((s: RealtimeSession) => void) | undefined;

  constructor(opts: SessionOptions) {
    this.config = opts.config;
    this.kind = opts.kind;
    this.callId = opts.callId;
    this.#scenarios = opts.scenarios;
    this.pacing = opts.pacing;
    this.faults = opts.faults;
    this.chunkMs = opts.chunkMs ?? 100;
    this.log = opts.log.child({ sessionId: this.id, callId: opts.callId });
    this.#onClosed = opts.onClosed;
    this.input.configure(this.config.audio.input.turn_detection);
    this.turns = new TurnTaking(this);
    const { maxSessionMs } = this.faults.get(this.id, this.callId);
    this.#expiry = setTimeout(() => this.expire(maxSessionMs), maxSessionMs);
    this.#expiry.unref();
  }

  get expiresAt(): number {
    return Math.floor(
      (this.createdAt + this.faults.get(this.id, this.callId).maxSessionMs) / 1_000,
    );
  }

  /** The `session` object of `session.created`/`session.updated` (§4). */
  wireSession(): Record<string, unknown> {
    return { ...this.config, object: 'realtime.session', id: this.id, expires_at: this.expiresAt };
  }

  attach(sink: SessionSink, sendCreated = true): void {
    this.#sinks.add(sink);
    // First event after connect is session.created (§1); sideband attach does the same here
    // (UNCONFIRMED upstream, §11).
    if (sendCreated) {
      this.emitTo(sink, { type: 'session.created', session: this.wireSession() });
      this.emitTo(sink, {
        type: 'conversation.created',
        conversation: { id: this.conversation.id, object: 'realtime.conversation' },
      });
    }
  }

  detach(sink: SessionSink): void {
    this.#sinks.delete(sink);
  }

  get socketCount(): number {
    return this.#sinks.size;
  }

  /** The wire text of an event, its log summary, and the malformed frame to precede it, if due. */
  #outgoing(event: Record<string, unknown>): Outgoing {
    const eventId = newId('event');
    const item = event.item as { id?: unknown } | undefined;
    const itemId = typeof event.item_id === 'string' ? event.item_id : item?.id;
    const out: Outgoing = {
      text: JSON.stringify({ event_id: eventId, ...event }),
      summary: { type: String(event.type) },
    };
    if (typeof itemId === 'string') out.summary.itemId = itemId;
    if (this.faults.take('malformedEvents', this.id, this.callId)) {
      out.malformed = malformedFrame(this.#malformed++, newId('event'));
    }
    return out;
  }

  #write(sinks: readonly SessionSink[], out: Outgoing): void {
    // Stamped here, as the frame goes to the socket (after any eventDelayMs), so tests can
    // compare it with when the other side of the bridge saw the consequence.
    const atEpochMs = epochNowMs();
    let written = false;
    for (const sink of sinks) {
      if (out.malformed !== undefined) sink.send(out.malformed);
      if (sink.send(out.text)) written = true;
    }
    if (written) this.sent.push({ ...out.summary, atEpochMs });
  }

  #enqueue(send: () => void): void {
    const { eventDelayMs } = this.faults.get(this.id, this.callId);
    if (eventDelayMs <= 0) {
      // Keep order with events still waiting behind an earlier delay.
      this.#outbox = this.#outbox.then(send);
      return;
    }
    this.#outbox = this.#outbox
      .then(() => new Promise<void>((r) => setTimeout(r, eventDelayMs)))
      .then(send);
  }

  /** Broadcasts a server event to every attached socket. */
  emit(event: Record<string, unknown>): void {
    const out = this.#outgoing(event);
    // Sockets attached now get it, even if the session closes before the (delayed) send.
    const sinks = [...this.#sinks];
    this.#enqueue(() => this.#write(sinks, out));
  }

  emitTo(sink: SessionSink, event: Record<string, unknown>): void {
    const out = this.#outgoing(event);
    this.#enqueue(() => this.#write([sink], out));
  }

  /** Sends an `error` event and records the bad input (§4 error shape). */
  fail(
    err: ClientEventError,
    eventId: string | null,
    eventType?: string,
    sink?: SessionSink,
  ): void {
    this.recordBadInput(err.code, err.code, err.message, eventType);
    const event = { type: 'error', error: err.toBody(eventId) };
    if (sink) this.emitTo(sink, event);
    else this.emit(event);
  }

  recordBadInput(kind: string, code: string | null, message: string, eventType?: string): void {
    const entry: BadInput = { atMs: Date.now() - this.createdAt, kind, code, message };
    if (eventType !== undefined) entry.eventType = eventType;
    this.badInputs.push(entry);
    this.log.debug({ kind, code, eventType }, 'bad client input');
  }

  /** A text frame from a socket: parse, validate, act; never throws. */
  handleText(text: string, sink?: SessionSink): void {
    if (this.closed) return;
    try {
      handleClientEvent(this, text);
    } catch (err) {
      if (err instanceof ClientEventError) {
        let eventId: string | null = null;
        let eventType: string | undefined;
        try {
          const v = JSON.parse(text) as { event_id?: unknown; type?: unknown };
          if (typeof v.event_id === 'string') eventId = v.event_id;
          if (typeof v.type === 'string') eventType = v.type;
        } catch {
          // malformed JSON: no event_id to echo
        }
        this.fail(err, eventId, eventType, sink);
        return;
      }
      this.log.error({ err }, 'session failed to handle a client event');
      this.emit({
        type: 'error',
        error: {
          type: ERROR_TYPE.server,
          code: ERROR_CODE.serverError,
          message: 'The server had an error while processing your request.',
          param: null,
          event_id: null,
        },
      });
    }
  }

  /** Audio from the SIP leg (G.711 μ-law, whatever the session's input format says, §11). */
  sipAudio(frame: Buffer): void {
    if (this.closed) return;
    this.turns.audioIn({ type: 'audio/pcmu' }, frame);
  }

  /** A key press on the SIP leg (§4 `input_audio_buffer.dtmf_event_received`). */
  dtmf(digit: string): void {
    this.emit({
      type: 'input_audio_buffer.dtmf_event_received',
      event: digit,
      received_at: Math.floor(Date.now() / 1_000),
    });
  }

  /** Binds the session to the scenario of a run (from a `run` tag, or the SIP offer). */
  bindScenario(runId: number | undefined, scenario?: Scenario): void {
    const found = scenario ?? (runId === undefined ? undefined : this.#scenarios.get(runId));
    if (!found) {
      this.recordBadInput('unknown_run', null, `no scenario for run ${String(runId)}`);
      return;
    }
    this.scenario = found;
    this.runId = runId;
    this.log.debug({ runId, scenario: found.name }, 'session bound to scenario');
  }

  /**
   * After a truncation, the agent's line shows only the words the caller heard, marked. A
   * barge-in while the response is still generating truncates before the line exists (it is
   * written at `response.done`), so the item is remembered and marked in {@link noteOutput}.
   */
  noteTruncated(itemId: string): void {
    const line = this.said.find((l) => l.itemId === itemId);
    const part = this.conversation.get(itemId)?.content?.[0];
    if (!line) this.#truncatedPending.add(itemId);
    else if (part?.type === 'output_audio') line.text = interruptedLine(part.transcript);
  }

  /** Output items of finished responses go through here (tool bookkeeping, transcript). */
  noteOutput(item: ConversationItem, turnIndex: number | undefined): void {
    if (item.type === 'function_call' && item.call_id) this.toolCalls.set(item.call_id, turnIndex);
    const part = item.content?.[0];
    // A line cut before its first word still shows that the agent was interrupted.
    const cut = this.#truncatedPending.delete(item.id);
    if (part?.type === 'output_audio' && (part.transcript || cut))
      this.said.push({
        role: 'agent',
        text: cut ? interruptedLine(part.transcript) : part.transcript,
        atMs: Date.now() - this.createdAt,
        itemId: item.id,
      });
    if (part?.type === 'output_text' && part.text)
      this.said.push({ role: 'agent', text: part.text, atMs: Date.now() - this.createdAt });
  }

  /** Closes all sockets after pending events went out; ends the session. */
  close(code = 1000, reason = 'OK'): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.#expiry);
    this.active?.cancel('client_cancelled');
    const sinks = [...this.#sinks];
    this.#sinks.clear();
    void this.#outbox.then(() => {
      for (const sink of sinks) sink.close(code, reason);
    });
    this.#onClosed?.(this);
  }

  /** Drops every socket without a close frame (fault injection). */
  dropSockets(): void {
    const sinks = [...this.#sinks];
    this.#sinks.clear();
    for (const sink of sinks) sink.terminate();
    if (this.kind === 'ws') this.close(1006, 'dropped');
  }

  /**
   * The 60-minute cap (§9): an `error` `session_expired` (sent in beta; GA UNCONFIRMED) then
   * close 1001 "Your session hit the maximum duration of N minutes."
   */
  expire(maxSessionMs: number): void {
    const minutes = Math.round((maxSessionMs / 60_000) * 100) / 100;
    const message = `Your session hit the maximum duration of ${minutes} minutes.`;
    this.emit({
      type: 'error',
      error: {
        type: ERROR_TYPE.invalidRequest,
        code: ERROR_CODE.sessionExpired,
        message,
        param: null,
        event_id: null,
      },
    });
    this.log.info({ maxSessionMs }, 'session expired');
    this.close(1001, message);
  }
}
