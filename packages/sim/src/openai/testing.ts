/**
 * Test helpers for the OpenAI simulator: a minimal Realtime client over plain `ws` that keeps
 * every server event and waits for the ones a test names, and caller-like tagged audio.
 */
import WebSocket from 'ws';

import { encodeMulaw, encodeTag, synthesizeSpeech } from '../audio/index.js';

export type ServerEvent = { type: string; [key: string]: unknown };

export class RealtimeTestClient {
  /** Server events (JSON objects, as received; one without a string `type` is kept too). */
  readonly events: ServerEvent[] = [];
  /** Frames that were not JSON objects: binary frames, and text that did not parse. */
  readonly malformed: Array<string | Buffer> = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  readonly #taken = new Set<ServerEvent>();
  #waiters: Array<() => void> = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      const raw = Array.isArray(data)
        ? Buffer.concat(data)
        : Buffer.isBuffer(data)
          ? data
          : Buffer.from(data);
      const parsed = isBinary ? undefined : parseObject(raw.toString('utf8'));
      if (parsed === undefined) this.malformed.push(isBinary ? raw : raw.toString('utf8'));
      else this.events.push(parsed);
      for (const w of this.#waiters) w();
    });
    this.closed = new Promise((resolve) =>
      ws.on('close', (code, reason) => {
        resolve({ code, reason: reason.toString() });
        for (const w of this.#waiters) w();
      }),
    );
  }

  /** Opens a socket; rejects with `{status}` when the handshake is refused. */
  static connect(
    url: string,
    opts: { apiKey?: string; ca?: string } = {},
  ): Promise<RealtimeTestClient> {
    const headers: Record<string, string> = {};
    if (opts.apiKey !== undefined) headers.authorization = `Bearer ${opts.apiKey}`;
    const ws = new WebSocket(url, { headers, ...(opts.ca ? { ca: opts.ca } : {}) });
    const client = new RealtimeTestClient(ws);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(client));
      ws.once('unexpected-response', (_req, res) => {
        res.resume();
        reject(
          Object.assign(new Error(`handshake refused: ${res.statusCode}`), {
            status: res.statusCode,
          }),
        );
      });
      ws.once('error', reject);
    });
  }

  send(event: Record<string, unknown>): void {
    this.ws.send(JSON.stringify(event));
  }

  sendRaw(text: string): void {
    this.ws.send(text);
  }

  /** Sends μ-law (or any session-format) bytes in `chunkBytes` appends. */
  appendAudio(bytes: Buffer, chunkBytes = 1_600): void {
    for (let i = 0; i < bytes.length; i += chunkBytes) {
      this.send({
        type: 'input_audio_buffer.append',
        audio: bytes.subarray(i, i + chunkBytes).toString('base64'),
      });
    }
  }

  /** The first event of `type` (matching `pred`) not returned before; waits for it. */
  waitFor(
    type: string,
    pred: (e: ServerEvent) => boolean = () => true,
    timeoutMs = 4_000,
  ): Promise<ServerEvent> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const hit = this.events.find((e) => e.type === type && !this.#taken.has(e) && pred(e));
        if (!hit) return false;
        this.#taken.add(hit);
        resolve(hit);
        return true;
      };
      if (check()) return;
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        reject(
          new Error(
            `timed out waiting for ${type}; got: ${this.events.map((e) => e.type).join(', ')}`,
          ),
        );
      }, timeoutMs);
      const waiter = () => {
        if (check()) {
          clearTimeout(timer);
          this.#waiters = this.#waiters.filter((w) => w !== waiter);
        }
      };
      this.#waiters.push(waiter);
    });
  }

  ofType(type: string): ServerEvent[] {
    return this.events.filter((e) => e.type === type);
  }

  close(): void {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING)
      this.ws.close();
  }
}

/** A JSON object, or undefined for anything else (the `malformedEvents` fault sends those). */
function parseObject(text: string): ServerEvent | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return v !== null && typeof v === 'object' && !Array.isArray(v)
      ? (v as ServerEvent)
      : undefined;
  } catch {
    return undefined;
  }
}

/** Silence of `ms` as 8 kHz PCM. */
export function silencePcm(ms: number): Int16Array {
  return new Int16Array(ms * 8);
}

function concat(parts: Int16Array[]): Int16Array {
  const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * What the simulated caller sends for one utterance, as μ-law: optional run tag, a turn tag,
 * speech for `text`, then `trailingSilenceMs` of silence (enough for the VAD to end the turn).
 */
export function taggedUtterance(opts: {
  runId?: number;
  turn?: number;
  text: string;
  durationMs?: number;
  trailingSilenceMs?: number;
}): Buffer {
  const parts: Int16Array[] = [silencePcm(100)];
  if (opts.runId !== undefined)
    parts.push(encodeTag({ kind: 'run', value: opts.runId }), silencePcm(100));
  if (opts.turn !== undefined)
    parts.push(encodeTag({ kind: 'turn', value: opts.turn }), silencePcm(100));
  parts.push(
    synthesizeSpeech(
      opts.text,
      opts.durationMs === undefined ? {} : { durationMs: opts.durationMs },
    ),
  );
  parts.push(silencePcm(opts.trailingSilenceMs ?? 800));
  return encodeMulaw(concat(parts));
}
