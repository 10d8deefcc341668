/**
 * The conversation so far, in the order the provider created its items, kept so that a new
 * provider session can be given the same context after a reconnect. Transcripts arrive out of
 * order (input transcription is asynchronous, openai-realtime.md 4.1), so turns are slotted by
 * item id when the item appears and filled in when its text arrives. Function calls are kept
 * with their output, so a new session knows what was looked up (and an output still to come
 * has its call there). Pure, no I/O.
 */
import type { HistoryItem } from './realtime-leg.js';

type Turn =
  | { role: 'caller' | 'agent'; text: string }
  | { role: 'tool'; callId: string; name: string; arguments: string; output?: string };

export class ConversationLog {
  readonly #turns = new Map<string, Turn>();
  /** Function call items by the provider's call id. */
  readonly #calls = new Map<string, Extract<Turn, { role: 'tool' }>>();

  /** A conversation item exists (caller speech committed, or agent output started). */
  opened(itemId: string, role: 'caller' | 'agent'): void {
    if (!this.#turns.has(itemId)) this.#turns.set(itemId, { role, text: '' });
  }

  /** The item's final text. An item never announced is appended at the end. */
  transcribed(itemId: string, role: 'caller' | 'agent', text: string): void {
    const turn = this.#turns.get(itemId);
    if (turn && turn.role !== 'tool') turn.text = text;
    else if (!turn) this.#turns.set(itemId, { role, text });
  }

  /** The model called a function (item `itemId`). */
  called(itemId: string, callId: string, name: string, args: string): void {
    const turn = { role: 'tool' as const, callId, name, arguments: args };
    this.#turns.set(itemId, turn);
    this.#calls.set(callId, turn);
  }

  /** The output sent back for call `callId`. */
  answered(callId: string, output: string): void {
    const turn = this.#calls.get(callId);
    if (turn) turn.output = output;
  }

  /** Turns with words, and function calls, in conversation order. */
  history(): HistoryItem[] {
    return [...this.#turns.values()]
      .filter((t) => t.role === 'tool' || t.text.trim() !== '')
      .map((t) => ({ ...t }));
  }

  /** Whether the caller spoke last (so the agent owes an answer). */
  get callerSpokeLast(): boolean {
    let last: Turn | undefined;
    for (const turn of this.#turns.values()) last = turn;
    return last?.role === 'caller';
  }
}
