/**
 * Turns what the simulated model decided to do (a {@link ResponsePlan}) into the server events
 * of one response, in the order of openai-realtime.md §4.1, with audio paced like real speech.
 *
 * Pacing: audio goes out in `chunkMs` deltas. In `realtime` mode a chunk covering
 * [t, t + chunkMs) of audio is sent no earlier than `t` after the first one, so a client never
 * receives audio faster than real time (plus one chunk of lead). `fast` sends as fast as the
 * event loop allows, for load tests and unit tests. It is deliberately not paced at 10× like
 * the rest of `fast` (README "Pacing"): that would slow every `fast` test and change the
 * timing the services' integration tests were written against. On SIP the caller hears the
 * playback (sip-playback.ts), which is paced.
 */
import { setTimeout as sleep } from 'node:timers/promises';

import { synthesizeSpeech } from '../audio/index.js';
import { bytesPerMs, encodeAudio } from './audio-codec.js';
import type { Conversation, ConversationItem } from './conversation.js';
import { wireItem } from './conversation.js';
import { newId } from './errors.js';
import type { AudioFormat } from './session-config.js';

export type Pacing = 'realtime' | 'fast';

/** One output of a response: speech, or a function call. */
export type PlannedOutput =
  { kind: 'say'; text: string } | { kind: 'tool'; name: string; arguments: string };

export interface ResponsePlan {
  outputs: PlannedOutput[];
  /** Input tokens to report in `usage` (the whole conversation is re-sent each turn, §9). */
  inputTokens: number;
}

export interface ResponseSettings {
  modality: 'audio' | 'text';
  format: AudioFormat;
  voice: string | { id: string };
  maxOutputTokens: number | 'inf';
  metadata: Record<string, string> | null;
  /** `"none"`: out-of-band, items are not written to the conversation (§3.1). */
  conversation: 'auto' | 'none';
}

export interface ResponseHooks {
  emit(event: Record<string, unknown>): void;
  /** Right after `response.created` (where the SDK says `rate_limits.updated` goes, §4.1). */
  afterCreated?(): void;
  /** Just before `response.done`: the session is free for the next response from then on. */
  beforeDone?(): void;
  /** Called with each audio delta's bytes (SIP playback) and the running count of deltas. */
  onAudio?(itemId: string, bytes: Buffer, deltaCount: number): void;
}

type Status = 'in_progress' | 'completed' | 'cancelled' | 'failed' | 'incomplete';

/** One response from `response.created` to `response.done`. */
export class ResponseRun {
  readonly id = newId('resp');
  status: Status = 'in_progress';
  readonly #abort = new AbortController();
  #cancelReason: 'turn_detected' | 'client_cancelled' = 'client_cancelled';
  readonly #output: ConversationItem[] = [];
  #audioMs = 0;
  #textChars = 0;
  #deltas = 0;

  constructor(
    private readonly conversation: Conversation,
    private readonly plan: ResponsePlan,
    private readonly settings: ResponseSettings,
    private readonly hooks: ResponseHooks,
    private readonly pacing: Pacing,
    private readonly chunkMs = 100,
  ) {}

  /** Items this response produced (function calls included), for the session's bookkeeping. */
  get output(): readonly ConversationItem[] {
    return this.#output;
  }

  /** Stops the response; it ends with `response.done` `status:"cancelled"` (§4). */
  cancel(reason: 'turn_detected' | 'client_cancelled'): void {
    if (this.status !== 'in_progress' || this.#abort.signal.aborted) return;
    this.#cancelReason = reason;
    this.#abort.abort();
  }

  get cancelled(): boolean {
    return this.#abort.signal.aborted;
  }

  #wire(): Record<string, unknown> {
    const s = this.settings;
    return {
      object: 'realtime.response',
      id: this.id,
      status: this.status,
      status_details: null,
      output: this.#output.map(wireItem),
      conversation_id: s.conversation === 'none' ? null : this.conversation.id,
      output_modalities: [s.modality],
      max_output_tokens: s.maxOutputTokens,
      audio: { output: { format: s.format, voice: s.voice } },
      usage: null,
      metadata: s.metadata,
    };
  }

  /** Runs the whole response; resolves after `response.done`. */
  async run(): Promise<void> {
    const { emit } = this.hooks;
    emit({ type: 'response.created', response: this.#wire() });
    this.hooks.afterCreated?.();
    for (const [index, out] of this.plan.outputs.entries()) {
      if (this.cancelled) break;
      if (out.kind === 'tool') this.#functionCall(index, out.name, out.arguments);
      else await this.#message(index, out.text);
    }
    this.status = this.cancelled ? 'cancelled' : 'completed';
    const outputTokens = Math.ceil(this.#audioMs / 50) + Math.ceil(this.#textChars / 4);
    const audioTokens = Math.ceil(this.#audioMs / 50);
    this.hooks.beforeDone?.();
    emit({
      type: 'response.done',
      response: {
        ...this.#wire(),
        status_details: this.cancelled ? { type: 'cancelled', reason: this.#cancelReason } : null,
        usage: {
          total_tokens: this.plan.inputTokens + outputTokens,
          input_tokens: this.plan.inputTokens,
          output_tokens: outputTokens,
          input_token_details: {
            text_tokens: this.plan.inputTokens,
            audio_tokens: 0,
            image_tokens: 0,
            cached_tokens: 0,
            cached_tokens_details: { text_tokens: 0, audio_tokens: 0, image_tokens: 0 },
          },
          output_token_details: {
            text_tokens: outputTokens - audioTokens,
            audio_tokens: audioTokens,
          },
        },
      },
    });
  }

  #addItem(index: number, item: ConversationItem): void {
    this.#output.push(item);
    const prev = this.settings.conversation === 'none' ? null : this.conversation.add(item);
    this.hooks.emit({
      type: 'response.output_item.added',
      response_id: this.id,
      output_index: index,
      item: wireItem(item),
    });
    if (this.settings.conversation !== 'none') {
      this.hooks.emit({
        type: 'conversation.item.added',
        previous_item_id: prev,
        item: wireItem(item),
      });
    }
  }

  #itemDone(index: number, item: ConversationItem): void {
    this.hooks.emit({
      type: 'response.output_item.done',
      response_id: this.id,
      output_index: index,
      item: wireItem(item),
    });
    if (this.settings.conversation !== 'none') {
      this.hooks.emit({
        type: 'conversation.item.done',
        previous_item_id: null,
        item: wireItem(item),
      });
    }
  }

  #functionCall(index: number, name: string, args: string): void {
    const item: ConversationItem = {
      id: newId('item'),
      type: 'function_call',
      status: 'in_progress',
      call_id: newId('call'),
      name,
      arguments: '',
    };
    this.#addItem(index, item);
    const ids = {
      response_id: this.id,
      item_id: item.id,
      output_index: index,
      call_id: item.call_id,
    };
    // Arguments stream in pieces like model tokens (§4 function_call_arguments.delta).
    for (let i = 0; i < args.length; i += 16) {
      this.hooks.emit({
        type: 'response.function_call_arguments.delta',
        ...ids,
        delta: args.slice(i, i + 16),
      });
    }
    item.arguments = args;
    item.status = 'completed';
    this.#textChars += args.length;
    this.hooks.emit({
      type: 'response.function_call_arguments.done',
      ...ids,
      name,
      arguments: args,
    });
    this.#itemDone(index, item);
  }

  async #message(index: number, text: string): Promise<void> {
    const audio = this.settings.modality === 'audio';
    const item: ConversationItem = {
      id: newId('item'),
      type: 'message',
      status: 'in_progress',
      role: 'assistant',
      content: [],
    };
    this.#addItem(index, item);
    const ids = { response_id: this.id, item_id: item.id, output_index: index, content_index: 0 };
    const wirePart = (done: boolean, said: string) =>
      audio
        ? { type: 'audio', transcript: done ? said : '' }
        : { type: 'text', text: done ? said : '' };
    this.hooks.emit({ type: 'response.content_part.added', ...ids, part: wirePart(false, '') });
    const said = audio ? await this.#speak(item, ids, text) : this.#write(ids, text);
    if (audio) {
      this.hooks.emit({ type: 'response.output_audio.done', ...ids });
      this.hooks.emit({ type: 'response.output_audio_transcript.done', ...ids, transcript: said });
    } else {
      this.hooks.emit({ type: 'response.output_text.done', ...ids, text: said });
    }
    this.hooks.emit({ type: 'response.content_part.done', ...ids, part: wirePart(true, said) });
    item.content = [
      audio ? { type: 'output_audio', transcript: said } : { type: 'output_text', text: said },
    ];
    item.status = this.cancelled ? 'incomplete' : 'completed';
    this.#textChars += said.length;
    this.#itemDone(index, item);
  }

  #write(ids: Record<string, unknown>, text: string): string {
    const words = text.split(/\s+/).filter(Boolean);
    words.forEach((w, i) => {
      this.hooks.emit({ type: 'response.output_text.delta', ...ids, delta: i === 0 ? w : ` ${w}` });
    });
    return words.join(' ');
  }

  /** Streams the speech; returns the transcript of what was actually sent. */
  async #speak(
    item: ConversationItem,
    ids: Record<string, unknown>,
    text: string,
  ): Promise<string> {
    const { format } = this.settings;
    const bytes = encodeAudio(format, synthesizeSpeech(text));
    const bpm = bytesPerMs(format);
    const totalMs = bytes.length / bpm;
    const words = text.split(/\s+/).filter(Boolean);
    const totalChars = words.reduce((n, w) => n + w.length + 1, 0);
    let acc = 0;
    const timeline = words.map((w) => {
      acc += w.length + 1;
      return { text: w, endMs: (acc / totalChars) * totalMs };
    });
    const facts = this.conversation.facts(item.id);
    // Out-of-band responses have no conversation facts; keep a local record then.
    const local = facts ?? { audioMs: 0, words: [] as Array<{ text: string; endMs: number }> };
    // The transcript is marked as spoken in real time; the item carries it as it grows.
    item.content = [{ type: 'output_audio', transcript: '' }];
    const chunkBytes = Math.max(bpm, Math.round(this.chunkMs * bpm));
    const started = performance.now();
    let sentMs = 0;
    let nextWord = 0;
    for (let offset = 0; offset < bytes.length; offset += chunkBytes) {
      if (this.pacing === 'realtime') {
        const wait = started + sentMs - performance.now();
        if (wait > 0)
          await sleep(wait, undefined, { signal: this.#abort.signal }).catch(() => undefined);
      } else {
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      if (this.cancelled) break;
      const chunk = bytes.subarray(offset, offset + chunkBytes);
      this.#deltas += 1;
      this.hooks.emit({
        type: 'response.output_audio.delta',
        ...ids,
        delta: chunk.toString('base64'),
      });
      this.hooks.onAudio?.(item.id, chunk, this.#deltas);
      sentMs += chunk.length / bpm;
      local.audioMs = sentMs;
      this.#audioMs += chunk.length / bpm;
      // Transcript words go out once their audio has been sent (interleaved, §4.1 step 5).
      while (
        nextWord < timeline.length &&
        (timeline[nextWord]?.endMs ?? Infinity) <= sentMs + 1e-6
      ) {
        const w = timeline[nextWord] as { text: string; endMs: number };
        local.words.push(w);
        this.hooks.emit({
          type: 'response.output_audio_transcript.delta',
          ...ids,
          delta: nextWord === 0 ? w.text : ` ${w.text}`,
        });
        nextWord += 1;
      }
      if (this.cancelled) break;
    }
    return local.words.map((w) => w.text).join(' ');
  }
}
