/**
 * Twilio's end of a bidirectional Media Stream (`<Connect><Stream>`): a WebSocket client that
 * speaks the protocol of twilio.md §4 to the customer's server, and the transport the simulated
 * caller talks through.
 */
import { WebSocket, type RawData } from 'ws';

import type { Logger } from '@app/platform';

import { FRAME_BYTES, FRAME_MS } from '../audio/index.js';
import type { CallerHandle, CallerTransport } from '../caller/runner.js';
import type { CallRecording } from '../recording.js';
import { newSid } from './call-store.js';
import { Playback } from './playback.js';
import { twilioSignature } from './signature.js';
import { checkServerMessage } from './stream-messages.js';

export interface MediaStreamClientOptions {
  /** The `<Stream url>` (`wss://`, or `ws://` for local servers). */
  url: string;
  accountSid: string;
  callSid: string;
  /** Signs the handshake (X-Twilio-Signature over the URL, empty params: §2.3). */
  authToken: string;
  /** `<Parameter>` name/values, sent in `start.customParameters`. */
  customParameters: Record<string, string>;
  recording: CallRecording;
  /** Wall-clock ms per 20 ms frame of outbound playback (20 realtime; 2 fast). */
  frameIntervalMs: number;
  /** Accept self-signed TLS certificates on `wss://`. @defaultValue `false` */
  allowInsecureTls?: boolean;
  /** Handshake timeout. @defaultValue `10000` */
  connectTimeoutMs?: number;
  /** The caller hung up (through {@link CallerTransport.hangup}): end the call. */
  onCallerHangup(): void;
  log: Logger;
}

/** How and why the stream ended. */
export interface StreamEnd {
  /** `server`: the customer's server closed the socket; `twilio`: we stopped it; `error`. */
  by: 'server' | 'twilio' | 'error';
  reason: string;
  /** Twilio error code when the stream failed (31920 handshake, 31921 closed, §3.1, §4.1). */
  code?: number;
}

export class MediaStreamClient implements CallerTransport {
  readonly streamSid = newSid('MZ');
  readonly #opts: MediaStreamClientOptions;
  readonly #playback: Playback;
  #ws: WebSocket | undefined;
  #sequence = 0;
  #chunk = 0;
  #handle: CallerHandle | undefined;
  #ended = false;
  #resolveEnded: (e: StreamEnd) => void = () => undefined;
  /** Resolves once when the stream is over, whoever ended it. */
  readonly ended: Promise<StreamEnd>;

  constructor(opts: MediaStreamClientOptions) {
    this.#opts = opts;
    this.ended = new Promise((resolve) => {
      this.#resolveEnded = resolve;
    });
    const rec = opts.recording;
    this.#playback = new Playback(opts.frameIntervalMs, {
      played: (frame) => this.#handle?.heard(frame),
      markDone: (name, cleared) => {
        this.#send({ event: 'mark', streamSid: this.streamSid, mark: { name } });
        rec.add('sent.mark-echo', { name, cleared });
      },
      overflow: (droppedFrames) =>
        rec.add('protocol.error', { code: 31931, reason: 'buffer-overflow', droppedFrames }),
      idle: (frames) => rec.add('playback.idle', { playedMs: frames * FRAME_MS }),
    });
  }

  /** Where played audio and `clear` go (the simulated caller). */
  attach(handle: CallerHandle): void {
    this.#handle = handle;
  }

  /** Opens the socket and sends `connected` and `start`. Rejects if the handshake fails. */
  async open(): Promise<void> {
    const { url, authToken, recording, allowInsecureTls, connectTimeoutMs } = this.#opts;
    recording.add('stream.connecting', { url, streamSid: this.streamSid });
    const ws = new WebSocket(url, {
      headers: { 'X-Twilio-Signature': twilioSignature(authToken, url, {}) },
      rejectUnauthorized: !allowInsecureTls,
      handshakeTimeout: connectTimeoutMs ?? 10_000,
    });
    this.#ws = ws;
    ws.on('message', (data, isBinary) => this.#onMessage(data, isBinary));
    await new Promise<void>((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('unexpected-response', (_req, res) =>
        reject(new Error(`handshake answered HTTP ${res.statusCode ?? 0}`)),
      );
      ws.once('error', reject);
    }).catch((err: unknown) => {
      const reason = err instanceof Error ? err.message : String(err);
      // 31920: "Stream - WebSocket - Handshake Error" (§3.1, §4.1).
      recording.add('stream.error', { code: 31920, reason });
      this.#finish({ by: 'error', reason, code: 31920 });
      ws.terminate();
      throw err;
    });
    ws.on('error', (err) => this.#opts.log.debug({ err }, 'media stream socket error'));
    ws.on('close', (code, reason) => {
      if (this.#ended) return;
      const text = reason.toString() || `close ${code}`;
      recording.add('stream.closed', { by: 'server', code, reason: text });
      this.#finish({ by: 'server', reason: text, code: 31921 });
    });
    this.#send({ event: 'connected', protocol: 'Call', version: '1.0.0' }, false);
    this.#send({
      event: 'start',
      streamSid: this.streamSid,
      start: {
        accountSid: this.#opts.accountSid,
        streamSid: this.streamSid,
        callSid: this.#opts.callSid,
        tracks: ['inbound'],
        customParameters: this.#opts.customParameters,
        mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 },
      },
    });
    recording.add('stream.started', {
      streamSid: this.streamSid,
      customParameters: this.#opts.customParameters,
    });
  }

  // ---- CallerTransport ----

  sendAudio(frame: Buffer): void {
    if (this.#ended) return;
    this.#chunk += 1;
    this.#send({
      event: 'media',
      streamSid: this.streamSid,
      media: {
        track: 'inbound',
        chunk: String(this.#chunk),
        // Media time, not wall time: frames are 20 ms each, whatever the pacing (§4.2).
        timestamp: String((this.#chunk - 1) * FRAME_MS),
        payload: frame.toString('base64'),
      },
    });
  }

  sendDtmf(digit: string): void {
    if (this.#ended) return;
    this.#send({
      event: 'dtmf',
      streamSid: this.streamSid,
      dtmf: { track: 'inbound_track', digit },
    });
    this.#opts.recording.add('sent.dtmf', { digit });
  }

  hangup(): void {
    // The caller outlives the stream: after a call update replaced it (§5.3) the caller is
    // still on the line, hearing the new TwiML, and hanging up then ends the call.
    if (!this.#ended) this.#opts.recording.add('stream.caller-hangup');
    this.#opts.onCallerHangup();
  }

  /**
   * Twilio ends the stream (hang-up, call update, `<Hangup>` elsewhere): `stop`, then close.
   * No-op when the stream already ended.
   */
  stop(reason: string): void {
    if (this.#ended) return;
    const { accountSid, callSid, recording } = this.#opts;
    this.#send({ event: 'stop', streamSid: this.streamSid, stop: { accountSid, callSid } });
    recording.add('sent.stop', { reason, mediaSent: this.#chunk });
    this.#ws?.close(1000, reason);
    this.#finish({ by: 'twilio', reason });
  }

  #finish(end: StreamEnd): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#playback.stop();
    this.#resolveEnded(end);
  }

  #send(msg: Record<string, unknown>, numbered = true): void {
    const ws = this.#ws;
    if (ws?.readyState !== WebSocket.OPEN) return;
    // One sequenceNumber counter across every message after `connected` (§4.2).
    const out = numbered ? { ...msg, sequenceNumber: String(++this.#sequence) } : msg;
    ws.send(JSON.stringify(out));
  }

  #onMessage(data: RawData, isBinary: boolean): void {
    if (this.#ended) return;
    const rec = this.#opts.recording;
    const checked = checkServerMessage(data, isBinary, this.streamSid);
    for (const w of checked.warnings) rec.add('protocol.error', { ...w });
    const msg = checked.message;
    if (msg === undefined) return;
    if (msg.event === 'media') {
      rec.add('received.media', { bytes: msg.payload.length });
      if (msg.payload.length % FRAME_BYTES !== 0) {
        rec.add('protocol.error', {
          code: null,
          severity: 'notice',
          reason: 'payload-not-whole-frames',
          bytes: msg.payload.length,
        });
      }
      this.#playback.enqueueAudio(msg.payload);
    } else if (msg.event === 'mark') {
      rec.add('received.mark', { name: msg.name, bufferedFrames: this.#playback.bufferedFrames });
      this.#playback.enqueueMark(msg.name);
    } else {
      const droppedFrames = this.#playback.bufferedFrames;
      rec.add('received.clear', { droppedMs: droppedFrames * FRAME_MS });
      this.#playback.clear();
      this.#handle?.cleared();
    }
  }
}
