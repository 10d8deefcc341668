/**
 * The default conversation of a session: its items in order, as the server holds them, plus
 * what the simulator needs to answer truncation (how much audio each assistant item carries and
 * when each word of its transcript was spoken).
 */
import { ClientEventError, ERROR_CODE } from './errors.js';

export type ContentPart =
  | { type: 'input_text'; text: string }
  | { type: 'input_audio'; transcript: string | null }
  | { type: 'output_text'; text: string }
  | { type: 'output_audio'; transcript: string };

/** A conversation item (openai-realtime.md §3 "Items"); `object` is always `realtime.item`. */
export interface ConversationItem {
  id: string;
  type: 'message' | 'function_call' | 'function_call_output';
  status: 'in_progress' | 'completed' | 'incomplete';
  role?: 'user' | 'assistant' | 'system';
  content?: ContentPart[];
  call_id?: string;
  name?: string;
  arguments?: string;
  output?: string;
}

/** Simulator-only facts about an item, never sent on the wire. */
export interface ItemFacts {
  /** Assistant audio generated (sent) so far, in ms. */
  audioMs: number;
  /** Words of the spoken transcript with the audio time at which each one ends. */
  words: Array<{ text: string; endMs: number }>;
  /** Caller turn index a user audio item was tagged with. */
  turnIndex?: number;
  /** Input audio of a user item, in ms (for usage). */
  inputAudioMs?: number;
}

/** The wire form of an item: `{id, object:'realtime.item', ...}`. */
export function wireItem(item: ConversationItem): Record<string, unknown> {
  return { ...item, object: 'realtime.item' };
}

export class Conversation {
  readonly id: string;
  readonly #items: ConversationItem[] = [];
  readonly #facts = new Map<string, ItemFacts>();

  constructor(id: string) {
    this.id = id;
  }

  get items(): readonly ConversationItem[] {
    return this.#items;
  }

  /** Appends (or inserts after `previousItemId`, `"root"` = first); returns the previous item id. */
  add(item: ConversationItem, previousItemId?: string | null): string | null {
    this.#facts.set(item.id, { audioMs: 0, words: [] });
    if (previousItemId === undefined || previousItemId === null) {
      const prev = this.#items.at(-1)?.id ?? null;
      this.#items.push(item);
      return prev;
    }
    if (previousItemId === 'root') {
      this.#items.unshift(item);
      return null;
    }
    const index = this.#items.findIndex((i) => i.id === previousItemId);
    if (index < 0) {
      this.#facts.delete(item.id);
      throw new ClientEventError(
        ERROR_CODE.invalidValue,
        `Item with id '${previousItemId}' not found in the conversation.`,
        'previous_item_id',
      );
    }
    this.#items.splice(index + 1, 0, item);
    return previousItemId;
  }

  get(id: string): ConversationItem | undefined {
    return this.#items.find((i) => i.id === id);
  }

  facts(id: string): ItemFacts | undefined {
    return this.#facts.get(id);
  }

  delete(id: string): boolean {
    const index = this.#items.findIndex((i) => i.id === id);
    if (index < 0) return false;
    this.#items.splice(index, 1);
    this.#facts.delete(id);
    return true;
  }

  /** The function call with `callId`, if the model made one. */
  functionCall(callId: string): ConversationItem | undefined {
    return this.#items.find((i) => i.type === 'function_call' && i.call_id === callId);
  }

  /**
   * Truncates an assistant audio item at `audioEndMs`: the audio after it and the transcript of
   * the unplayed part are gone (openai-realtime.md §5). Beyond the audio actually generated for
   * the item is an error ("Audio content of Xms is already shorter than Yms", §9).
   */
  truncate(itemId: string, contentIndex: number, audioEndMs: number): void {
    const item = this.get(itemId);
    const facts = this.#facts.get(itemId);
    if (!item || !facts) {
      throw new ClientEventError(
        ERROR_CODE.itemNotFound,
        `Item with item_id '${itemId}' not found.`,
        'item_id',
      );
    }
    const part = item.content?.[contentIndex];
    if (item.role !== 'assistant' || part === undefined || part.type !== 'output_audio') {
      throw new ClientEventError(
        ERROR_CODE.invalidValue,
        'Only assistant messages with audio content can be truncated.',
        part === undefined ? 'content_index' : 'item_id',
      );
    }
    const audioMs = Math.round(facts.audioMs);
    if (audioEndMs > audioMs) {
      throw new ClientEventError(
        ERROR_CODE.invalidValue,
        `Audio content of ${audioMs}ms is already shorter than ${audioEndMs}ms`,
        'audio_end_ms',
      );
    }
    facts.words = facts.words.filter((w) => w.endMs <= audioEndMs);
    facts.audioMs = audioEndMs;
    part.transcript = facts.words.map((w) => w.text).join(' ');
  }
}
