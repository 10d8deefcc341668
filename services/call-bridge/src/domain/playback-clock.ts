/**
 * What the caller actually heard of each assistant item. Audio sent to Twilio is only queued;
 * Twilio echoes a `mark` once the audio before it has played (twilio.md 4.3). So after each
 * forwarded audio delta the bridge sends a mark, and `heardMs(item)` is the audio up to the last
 * echoed mark: the truncation point on barge-in (openai-realtime.md 5). Pure, no I/O.
 */

/** µ-law at 8 kHz: 8 bytes per ms. */
const PCMU_BYTES_PER_MS = 8;

interface ItemPlayback {
  sentMs: number;
  heardMs: number;
  /** When the last mark of this item was echoed (caller's clock, ms); null before any. */
  echoedAt: number | null;
}

export class PlaybackClock {
  readonly #items = new Map<string, ItemPlayback>();
  /** Marks sent and not yet echoed, in send order: name → (item, audio end of that item). */
  readonly #pending = new Map<string, { itemId: string; endMs: number }>();
  #seq = 0;

  /**
   * Records audio of `itemId` forwarded to Twilio.
   * @returns The name of the mark to send right after that audio.
   */
  sent(itemId: string, bytes: number): string {
    const item = this.#items.get(itemId) ?? { sentMs: 0, heardMs: 0, echoedAt: null };
    item.sentMs += bytes / PCMU_BYTES_PER_MS;
    this.#items.set(itemId, item);
    this.#seq += 1;
    const name = `m${this.#seq}`;
    this.#pending.set(name, { itemId, endMs: item.sentMs });
    return name;
  }

  /**
   * A mark echo from Twilio; unknown names (cleared or foreign marks) are ignored.
   * @param atMs - When it arrived (ms, any monotonic clock), for {@link estimateHeardMs}.
   */
  echoed(name: string, atMs?: number): boolean {
    const mark = this.#pending.get(name);
    if (!mark) return false;
    // Twilio plays in order: every mark sent before this one has played too.
    for (const [key, m] of this.#pending) {
      this.#pending.delete(key);
      const item = this.#items.get(m.itemId);
      if (item) {
        item.heardMs = Math.max(item.heardMs, m.endMs);
        if (key === name && atMs !== undefined) item.echoedAt = atMs;
      }
      if (key === name) break;
    }
    return true;
  }

  /** Milliseconds of `itemId` played to the caller (up to the last echoed mark). */
  heardMs(itemId: string): number {
    return Math.floor(this.#items.get(itemId)?.heardMs ?? 0);
  }

  /**
   * Milliseconds of `itemId` heard by `nowMs`: confirmed by the last echo, plus the time since
   * that echo, because Twilio kept playing its buffer in real time meanwhile; never more than
   * was sent. Extrapolating from the echo, not from when audio was sent, keeps the estimate
   * right when echoes reach us late (a busy event loop delays the echo and the barge-in alike).
   */
  estimateHeardMs(itemId: string, nowMs: number): number {
    const item = this.#items.get(itemId);
    if (!item) return 0;
    const sinceEcho = item.echoedAt === null ? 0 : Math.max(0, nowMs - item.echoedAt);
    return Math.floor(Math.min(item.sentMs, item.heardMs + sinceEcho));
  }

  /** Milliseconds of `itemId` sent to Twilio. */
  sentMs(itemId: string): number {
    return Math.floor(this.#items.get(itemId)?.sentMs ?? 0);
  }

  /** True while sent audio has not been confirmed played. */
  get playing(): boolean {
    return this.#pending.size > 0;
  }

  /** After a Twilio `clear`: the queued audio is gone, so its marks no longer count. */
  cleared(): void {
    this.#pending.clear();
  }
}
