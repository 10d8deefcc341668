/**
 * The conversation so far, in the order the provider created its items, kept so that a new
 * provider session can be given the same context after a reconnect. Transcripts arrive out of
 * order (input transcription is asynchronous, openai-realtime.md 4.1), so turns are slotted by
 * item id when the item appears and filled in when its text arrives. Pure, no I/O.
 */
import type { HistoryItem } from './realtime-leg.js';

interface Turn {
  role: 'caller' | 'agent';
  text: string;
}

export class ConversationLog {
  readonly #turns = new Map<string, Turn>();

  /** A conversation item exists (caller speech committed, or agent output started). */
  opened(itemId: string, role: Turn['role']): void {
    if (!this.#turns.has(itemId)) this.#turns.set(itemId, { role, text: '' });
  }

  /** The item's final text. An item never announced is appended at the end. */
  transcribed(itemId: string, role: Turn['role'], text: string): void {
    const turn = this.#turns.get(itemId);
    if (turn) turn.text = text;
    else this.#turns.set(itemId, { role, text });
  }

  /** Turns with words, in conversation order. */
  history(): HistoryItem[] {
    return [...this.#turns.values()]
      .filter((t) => t.text.trim() !== '')
      .map((t) => ({ role: t.role, text: t.text }));
  }

  /** Whether the caller spoke last (so the agent owes an answer). */
  get callerSpokeLast(): boolean {
    let last: Turn | undefined;
    for (const turn of this.#turns.values()) last = turn;
    return last?.role === 'caller';
  }
}
