/**
 * Turn-taking of a session: input audio → tags and VAD → commit → input transcription →
 * (auto) response, and barge-in (openai-realtime.md §2.1, §4.1, §5).
 */
import type { ResponseParams } from './client-events.js';
import type { ConversationItem } from './conversation.js';
import { ClientEventError, ERROR_CODE, ERROR_TYPE, newId } from './errors.js';
import type { RealtimeSession } from './realtime-session.js';
import { ResponseRun } from './response-generator.js';
import {
  cueFromConversation,
  planOutputs,
  quotedSay,
  transcriptFor,
  type ResponseCue,
} from './scenario-model.js';
import type { AudioFormat } from './session-config.js';

/** `rate_limits.updated` payload (§4); values are plausible constants. */
const RATE_LIMITS = [
  { name: 'requests', limit: 1_000, remaining: 999, reset_seconds: 60 },
  { name: 'tokens', limit: 50_000, remaining: 49_000, reset_seconds: 60 },
];

/**
 * Longest a response waits for the caller's run tag (call time; a tenth of it in `fast`). The
 * caller repeats the tag about every second of quiet (caller/runner.ts), so a session opened
 * mid-call hears a whole tag within ~1.3 s (a run id of up to 6 digits: ~1.7 s).
 */
const HOLD_FOR_RUN_TAG_MS = 2_000;

export class TurnTaking {
  #speechItemId: string | null = null;
  /** The last `turn` tag heard, waiting for the utterance it announces. */
  #turnTag: number | undefined;

  /** A first response held until the caller's run tag binds a scenario (see requestResponse). */
  #held: {
    params: ResponseParams | undefined;
    eventId: string | null;
    timer: NodeJS.Timeout;
  } | null = null;
  #holdOver = false;

  constructor(private readonly s: RealtimeSession) {}

  /**
   * Runs the held first response now (the scenario is bound, or the wait is over). A response
   * the client started meanwhile wins: the held one is dropped, as a duplicate would be refused.
   */
  #releaseHeld(): void {
    const held = this.#held;
    this.#held = null;
    this.#holdOver = true;
    if (!held) return;
    clearTimeout(held.timer);
    if (this.s.closed || this.s.active) return;
    this.requestResponse(held.params, held.eventId);
  }

  /** Appended (or SIP) audio. */
  audioIn(format: AudioFormat, bytes: Buffer): void {
    const { tags, vad } = this.s.input.push(format, bytes);
    for (const tag of tags) {
      if (tag.kind === 'run') {
        if (tag.value !== this.s.runId) this.s.bindScenario(tag.value);
        this.#releaseHeld();
      } else {
        this.#turnTag = tag.value;
      }
    }
    for (const ev of vad) {
      if (ev.type === 'speech_started') this.#speechStarted(ev.audioStartMs);
      else this.#speechStopped(ev.audioEndMs);
    }
  }

  #speechStarted(audioStartMs: number): void {
    const itemId = newId('item');
    this.#speechItemId = itemId;
    this.s.emit({
      type: 'input_audio_buffer.speech_started',
      audio_start_ms: audioStartMs,
      item_id: itemId,
    });
    const td = this.s.config.audio.input.turn_detection;
    // On SIP the server also owns playback: audio still playing after the response finished
    // generating is interrupted too (§5 "WebRTC and SIP"). interrupt() is a no-op otherwise.
    if (td?.interrupt_response) this.interrupt('turn_detected');
  }

  #speechStopped(audioEndMs: number): void {
    const itemId = this.#speechItemId ?? newId('item');
    this.#speechItemId = null;
    this.s.emit({
      type: 'input_audio_buffer.speech_stopped',
      audio_end_ms: audioEndMs,
      item_id: itemId,
    });
    this.commit(itemId);
    if (this.s.config.audio.input.turn_detection?.create_response) {
      this.requestResponse(undefined, null, true);
    }
  }

  /**
   * Cancels the active response. On SIP the server owns playback, so it also drops the unplayed
   * audio and truncates the item to what the caller heard (§5 "WebRTC and SIP").
   */
  interrupt(reason: 'turn_detected' | 'client_cancelled'): void {
    const run = this.s.active;
    if (!run && reason === 'client_cancelled') return;
    run?.cancel(reason);
    const played = this.s.audioOut?.clear();
    if (played) {
      try {
        this.s.conversation.truncate(played.itemId, 0, Math.floor(played.playedMs));
        this.s.noteTruncated(played.itemId);
      } catch {
        // The item may be a function call or already shorter; nothing to trim then.
      }
      this.s.emit({ type: 'output_audio_buffer.cleared', response_id: played.responseId });
    }
  }

  /** Commits the buffer as a user audio item (§4.1 step 3); manual commits need ≥100 ms (§8). */
  commit(itemId: string = newId('item'), manual = false): void {
    if (manual && this.s.input.bufferMs < 100) {
      throw new ClientEventError(
        ERROR_CODE.commitEmpty,
        `Error committing input audio buffer: buffer too small. Expected at least 100ms of audio, but buffer only has ${this.s.input.bufferMs.toFixed(2)}ms of audio.`,
      );
    }
    const audioMs = this.s.input.bufferMs;
    this.s.input.reset();
    const index = this.#turnTag;
    this.#turnTag = undefined;
    const item: ConversationItem = {
      id: itemId,
      type: 'message',
      status: 'completed',
      role: 'user',
      content: [{ type: 'input_audio', transcript: null }],
    };
    const prev = this.s.conversation.add(item);
    const facts = this.s.conversation.facts(itemId);
    if (facts) {
      facts.inputAudioMs = audioMs;
      if (index !== undefined) facts.turnIndex = index;
    }
    this.s.emit({ type: 'input_audio_buffer.committed', previous_item_id: prev, item_id: itemId });
    this.s.emit({
      type: 'conversation.item.added',
      previous_item_id: prev,
      item: { ...item, object: 'realtime.item' },
    });
    this.s.emit({
      type: 'conversation.item.done',
      previous_item_id: prev,
      item: { ...item, object: 'realtime.item' },
    });
    this.s.cues.push({ kind: 'turn', index });
    this.#transcribe(item, index, audioMs);
  }

  /** Input transcription (§4.1 step 4), only when `audio.input.transcription` is set. */
  #transcribe(item: ConversationItem, index: number | undefined, audioMs: number): void {
    const transcript = transcriptFor(this.s.scenario, index);
    this.s.said.push({ role: 'caller', text: transcript, atMs: Date.now() - this.s.createdAt });
    if (!this.s.config.audio.input.transcription) return;
    const ids = { item_id: item.id, content_index: 0 };
    transcript
      .split(/(?<=\s)/)
      .filter(Boolean)
      .forEach((delta) =>
        this.s.emit({ type: 'conversation.item.input_audio_transcription.delta', ...ids, delta }),
      );
    item.content = [{ type: 'input_audio', transcript }];
    const input = Math.ceil(audioMs / 100);
    const output = Math.ceil(transcript.length / 4);
    this.s.emit({
      type: 'conversation.item.input_audio_transcription.completed',
      ...ids,
      transcript,
      usage: {
        type: 'tokens',
        input_tokens: input,
        output_tokens: output,
        total_tokens: input + output,
        input_token_details: { text_tokens: 0, audio_tokens: input },
      },
    });
  }

  #inputTokens(instructions: string): number {
    let tokens = Math.ceil(instructions.length / 4);
    for (const item of this.s.conversation.items) {
      const facts = this.s.conversation.facts(item.id);
      tokens += Math.ceil((facts?.inputAudioMs ?? 0) / 100) + Math.ceil((facts?.audioMs ?? 0) / 50);
      tokens += Math.ceil(
        JSON.stringify(item.content ?? item.arguments ?? item.output ?? '').length / 4,
      );
    }
    return tokens;
  }

  /** `response.create` from the client, or from VAD when `create_response` is on (§2.1). */
  requestResponse(params: ResponseParams | undefined, eventId: string | null, auto = false): void {
    const s = this.s;
    if (s.active) {
      if (auto) return;
      throw new ClientEventError(
        ERROR_CODE.activeResponse,
        `Conversation already has an active response in progress: ${s.active.id}. Wait until the response is finished before creating a new one.`,
      );
    }
    // Simulator-only: a session that has no scenario yet and is asked to speak first (a bridge
    // sends response.create as soon as the stream opens, or after replaying the call so far
    // into a new session) waits for the simulated caller's run tag, so what it says is the
    // scenario's. Bounded: after HOLD_FOR_RUN_TAG_MS it speaks with whatever it has.
    if (!auto && !this.#holdOver && !s.scenario && s.responses === 0) {
      if (this.#held) {
        throw new ClientEventError(
          ERROR_CODE.activeResponse,
          'Conversation already has an active response in progress. Wait until the response is finished before creating a new one.',
        );
      }
      const waitMs = HOLD_FOR_RUN_TAG_MS * (s.pacing === 'realtime' ? 1 : 0.1);
      const timer = setTimeout(() => this.#releaseHeld(), waitMs);
      timer.unref();
      this.#held = { params, eventId, timer };
      return;
    }
    if (s.faults.take('wsRateLimits', s.id, s.callId)) {
      s.emit({
        type: 'error',
        error: {
          type: ERROR_TYPE.invalidRequest,
          code: ERROR_CODE.rateLimitExceeded,
          message: 'Rate limit reached for requests. Please try again later. (simulated)',
          param: null,
          event_id: eventId,
        },
      });
      return;
    }
    if (s.faults.take('wsServerErrors', s.id, s.callId)) {
      s.emit({
        type: 'error',
        error: {
          type: ERROR_TYPE.server,
          code: ERROR_CODE.serverError,
          message: 'The server had an error while processing your request. (simulated)',
          param: null,
          event_id: eventId,
        },
      });
      return;
    }
    const outOfBand = params?.conversation === 'none';
    const said = quotedSay(params?.instructions);
    let cue: ResponseCue;
    if (said !== undefined) cue = { kind: 'greeting' };
    else if (outOfBand) cue = s.cues[0] ?? { kind: 'greeting' };
    else cue = s.cues.shift() ?? cueFromConversation(s.conversation, s.scenario);
    // A tool's output may arrive before the response that called it is done (clients send it
    // on function_call_arguments.done); its turn is known once that response has finished.
    if (cue.kind === 'tool-output' && cue.index === undefined && cue.callId !== undefined) {
      cue = { ...cue, index: s.toolCalls.get(cue.callId) };
    }
    let outputs =
      said !== undefined ? [{ kind: 'say' as const, text: said }] : planOutputs(s.scenario, cue);
    // Per-response values override the session's for that response only (§3.1).
    const toolChoice = params?.tool_choice ?? s.config.tool_choice;
    const declared = new Set(
      s.config.tools.flatMap((t) => (t.type === 'function' ? [t.name] : [])),
    );
    if (toolChoice === 'none') outputs = outputs.filter((o) => o.kind !== 'tool');
    for (const o of outputs) {
      if (o.kind === 'tool' && !declared.has(o.name)) {
        s.recordBadInput(
          'undeclared_tool',
          null,
          `the scenario calls tool '${o.name}', which the session does not declare`,
        );
      }
    }
    if (outputs.length === 0) outputs = planOutputs(s.scenario, { kind: 'turn' });
    const turnIndex = cue.kind === 'greeting' ? undefined : cue.index;
    const modality = params?.output_modalities?.[0] ?? s.config.output_modalities[0] ?? 'audio';
    const fmt = params?.audio?.output?.format;
    const format: AudioFormat = fmt
      ? fmt.type === 'audio/pcm'
        ? { type: 'audio/pcm', rate: 24_000 }
        : { type: fmt.type }
      : s.config.audio.output.format;
    const dropAfter = s.faults.get(s.id, s.callId).dropSocketAfterAudioDeltas;
    const run: ResponseRun = new ResponseRun(
      s.conversation,
      { outputs, inputTokens: this.#inputTokens(params?.instructions ?? s.config.instructions) },
      {
        modality,
        format,
        voice: params?.audio?.output?.voice ?? s.config.audio.output.voice,
        maxOutputTokens: params?.max_output_tokens ?? s.config.max_output_tokens,
        metadata: params?.metadata ?? null,
        conversation: outOfBand ? 'none' : 'auto',
      },
      {
        emit: (e) => s.emit(e),
        afterCreated: () => s.emit({ type: 'rate_limits.updated', rate_limits: RATE_LIMITS }),
        beforeDone: () => {
          if (s.active === run) s.active = null;
          for (const item of run.output) s.noteOutput(item, turnIndex);
        },
        onAudio: (itemId, bytes, count) => {
          s.spokeOnce = true;
          s.audioOut?.play(itemId, run.id, bytes);
          if (dropAfter !== null && count >= dropAfter) {
            s.log.info({ deltas: count }, 'fault: dropping sockets mid-response');
            s.dropSockets();
          }
        },
      },
      s.pacing,
      s.chunkMs,
    );
    s.active = run;
    s.responses += 1;
    run
      .run()
      .catch((err: unknown) => s.log.error({ err }, 'response failed'))
      .finally(() => {
        if (s.active === run) s.active = null;
      });
  }
}
