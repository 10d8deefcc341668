/**
 * One server-sent events response (text/event-stream, WHATWG HTML §9.2): named events with JSON
 * data, comment heartbeats, and a bound on what may wait in the socket's buffer.
 *
 * A client that reads slower than events arrive would make Node buffer every write in memory;
 * past `maxBufferedBytes` the connection is dropped instead. An EventSource reconnects on its
 * own (after `retry` ms) and the live view starts again from a fresh snapshot, so a drop costs
 * the client a reload, never the server its memory.
 */
import type { ServerResponse } from 'node:http';

export interface SseStreamOptions {
  /** Socket buffer above which the client is dropped, in bytes. */
  maxBufferedBytes: number;
  /** How long an EventSource waits before reconnecting, in ms. */
  retryMs: number;
  /** Interval of the heartbeat comment, in ms. */
  heartbeatMs: number;
  /** Called once, when the stream ends for any reason (client gone, dropped, closed). */
  onEnd: (why: 'client_closed' | 'too_slow' | 'closed') => void;
}

export class SseStream {
  #ended = false;
  #why: 'client_closed' | 'too_slow' | 'closed' = 'client_closed';
  readonly #heartbeat: NodeJS.Timeout;

  constructor(
    private readonly raw: ServerResponse,
    private readonly opts: SseStreamOptions,
  ) {
    raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      // No cache, and no proxy may transform (compress, buffer) the stream.
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      // nginx buffers proxied responses unless told not to.
      'x-accel-buffering': 'no',
    });
    // Every path out (client gone, our end(), a destroy) ends in 'close', exactly once.
    raw.on('close', () => {
      this.#ended = true;
      clearInterval(this.#heartbeat);
      this.opts.onEnd(this.#why);
    });
    // A comment keeps proxies and the client's idle timers from closing a quiet stream.
    this.#heartbeat = setInterval(() => this.#write(': heartbeat\n\n'), opts.heartbeatMs);
    this.#heartbeat.unref();
    this.#write(`retry: ${opts.retryMs}\n\n`);
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** One event; JSON has no raw newline, so the data is a single `data:` line. */
  send(event: string, data: unknown): void {
    this.#write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  /** Ends the response (server shutdown, a source failed): the client reconnects. */
  close(): void {
    if (this.#ended) return;
    this.#why = 'closed';
    this.raw.end();
  }

  #write(chunk: string): void {
    if (this.#ended || this.raw.destroyed) return;
    this.raw.write(chunk);
    if (this.raw.writableLength > this.opts.maxBufferedBytes) {
      this.#why = 'too_slow';
      this.raw.destroy();
    }
  }
}
