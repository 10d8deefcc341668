/**
 * WebSocket `/media`: Twilio Media Streams (twilio.md 4). The message handler is attached before
 * any await (STYLE.md 6.2), the `start` frame's stream token is checked (gateway-signed, one
 * use), then a {@link CallSession} bridges the stream to the voice model.
 *
 * Close codes: 1008 bad/expired/replayed token or unknown agent; 1013 at capacity or draining;
 * 1011 OpenAI not configured or a bridge failure; 1009 (by `ws`) a frame over the size limit.
 * A bad frame inside a live stream (malformed JSON, binary, oversized audio, media before
 * `start`) is dropped and counted; the call goes on.
 */
import type { Socket } from 'node:net';

import websocket from '@fastify/websocket';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { WebSocket } from 'ws';
import { z } from 'zod';

import type { CallEndReason } from '@app/contracts';
import { contextFromTraceparent, verifyStreamToken, type Context } from '@app/platform';

import type { LoadAgent } from '../adapters/agent-sessions.js';
import type { AgentSession, OpenRealtime } from '../adapters/openai-realtime.js';
import type { TwilioCalls } from '../adapters/twilio-calls.js';
import { BASE64, twilioWire } from '../adapters/twilio-wire.js';
import { DEFAULT_APOLOGY } from '../domain/apology.js';
import type { CallSession, TwilioOutbound } from '../domain/call-session.js';
import type { LiveCalls } from '../domain/live-calls.js';
import { launchCall, type CallWiring } from '../launch-call.js';
import type { BridgeMetrics } from '../metrics.js';

/** Publishing, metrics, recovery and ownership come from {@link CallWiring}, as for SIP calls. */
export interface MediaStreamOptions extends CallWiring {
  calls: LiveCalls;
  streamTokenSecret: string;
  /** Null when OPENAI_API_KEY is unset: every stream is refused. */
  openRealtime: OpenRealtime | null;
  /** The agent's session settings; null when there is no such agent. */
  loadAgent: LoadAgent;
  /** Twilio's REST API for the apology when the provider is lost; null: the stream just closes. */
  twilioCalls?: TwilioCalls | null;
  /** What the caller hears when the call cannot go on. */
  apologyText?: string;
  /**
   * Agent audio waiting in a Twilio socket's send buffer beyond this many bytes is dropped, not
   * queued. @defaultValue 524 288 (~20 s of audio as Media Streams JSON)
   */
  maxTwilioBufferedBytes?: number;
  /** ms clock, for token expiry. @defaultValue Date.now */
  nowMs?: () => number;
}

const startSchema = z.object({
  event: z.literal('start'),
  start: z.object({
    streamSid: z.string().min(1),
    callSid: z.string().optional(),
    customParameters: z.object({
      callId: z.string().min(1),
      agentId: z.string().min(1),
      token: z.string().min(1),
      // Tracing only (the gateway's webhook span, the call's direction): a value that is not
      // what the gateway writes is ignored, never a reason to refuse the call.
      traceparent: z.string().max(128).optional().catch(undefined),
      direction: z.enum(['inbound', 'outbound']).optional().catch(undefined),
    }),
  }),
});

/**
 * A media payload longer than this (base64 characters) is not a Twilio frame (160 bytes = 216
 * characters); 4 KiB leaves room for larger chunks and stops a runaway sender.
 */
const MAX_MEDIA_PAYLOAD_CHARS = 4_096;

/** At most this many caller frames wait while the agent loads (10 s of 20 ms frames). */
const MAX_PENDING_FRAMES = 500;
/** Largest WebSocket message accepted; `ws` closes the stream with 1009 beyond it. */
const MAX_MESSAGE_BYTES = 64 * 1024;

/** Remembers used token ids until they expire (replay protection, one pod). */
class UsedTokens {
  readonly #seen = new Map<string, number>();
  /** False when `jti` was already used. */
  use(jti: string, expSec: number, nowMs: number): boolean {
    for (const [id, exp] of this.#seen) if (exp * 1_000 <= nowMs) this.#seen.delete(id);
    if (this.#seen.has(jti)) return false;
    this.#seen.set(jti, expSec);
    return true;
  }
}

/** Logs each kind of bad frame once per stream at warn, then only counts it. */
function badFrameReporter(log: FastifyBaseLogger, metrics: BridgeMetrics | undefined) {
  const seen = new Set<string>();
  return (kind: string, message: string) => {
    metrics?.badFrames.inc({ kind });
    if (seen.has(kind)) return;
    seen.add(kind);
    log.warn({ kind }, message);
  };
}

export async function mediaStreamRoutes(
  app: FastifyInstance,
  opts: MediaStreamOptions,
): Promise<void> {
  await app.register(websocket, { options: { maxPayload: MAX_MESSAGE_BYTES } });
  const used = new UsedTokens();
  const nowMs = opts.nowMs ?? Date.now;
  const maxBuffered = opts.maxTwilioBufferedBytes ?? 512 * 1024;

  app.get('/media', { websocket: true }, (socket: WebSocket, request) => {
    const log = request.log.child({ route: 'media' });
    const bad = badFrameReporter(log, opts.metrics);
    let state: 'awaiting-start' | 'starting' | 'live' | 'closed' = 'awaiting-start';
    let session: CallSession | null = null;
    const pending: string[] = [];
    let endBeforeLive: CallEndReason | null = null;

    const refuse = (code: number, reason: string, extra: Record<string, unknown> = {}) => {
      log.warn({ code, reason, ...extra }, 'media stream refused');
      state = 'closed';
      socket.close(code, reason);
    };

    // Attached synchronously: `connected` and `start` may already be in flight.
    socket.on('message', (raw, isBinary) => {
      const receivedAt = performance.now();
      if (state === 'closed') return;
      if (isBinary) return bad('binary', 'binary frame on media stream ignored');
      let msg: unknown;
      try {
        msg = JSON.parse(String(raw));
      } catch {
        return bad('malformed-json', 'malformed JSON on media stream ignored');
      }
      const event = (msg as { event?: unknown } | null)?.event;
      switch (event) {
        case 'connected':
          return;
        case 'start':
          if (state !== 'awaiting-start') return bad('second-start', 'second start ignored');
          return onStart(msg);
        case 'media': {
          // The hot path (50 frames a second per call): plain checks instead of a schema.
          const payload = (msg as { media?: { payload?: unknown } }).media?.payload;
          if (typeof payload !== 'string' || payload.length === 0) {
            return bad('malformed-media', 'malformed media frame ignored');
          }
          if (state === 'awaiting-start') return bad('media-before-start', 'media before start');
          if (payload.length > MAX_MEDIA_PAYLOAD_CHARS) {
            return bad('oversized-media', 'oversized media frame ignored');
          }
          // Forwarded into OpenAI's JSON as is (adapters/openai-realtime.ts): base64 only.
          if (!BASE64.test(payload)) return bad('malformed-media', 'media payload is not base64');
          if (session) session.callerAudio(payload, receivedAt);
          else if (pending.length < MAX_PENDING_FRAMES) pending.push(payload);
          return;
        }
        case 'mark': {
          const name = (msg as { mark?: { name?: unknown } }).mark?.name;
          if (typeof name !== 'string') return bad('malformed-mark', 'malformed mark ignored');
          session?.markEchoed(name);
          return;
        }
        case 'dtmf': {
          // A key the caller pressed (twilio.md 4.2): one digit per event.
          const digit = (msg as { dtmf?: { digit?: unknown } }).dtmf?.digit;
          if (typeof digit !== 'string' || !/^[0-9*#A-D]$/.test(digit)) {
            return bad('malformed-dtmf', 'malformed dtmf event ignored');
          }
          session?.dtmf(digit);
          return;
        }
        case 'stop':
          return finish('caller-hangup');
        default:
          return bad('unknown-event', 'unknown media stream event ignored');
      }
    });

    socket.on('close', () => {
      finish('caller-hangup');
    });
    socket.on('error', (err) => log.warn({ err }, 'media socket error'));

    function finish(reason: CallEndReason): void {
      if (session) {
        session.end(reason);
        return;
      }
      if (state === 'starting') endBeforeLive = reason;
      state = 'closed';
      // Ended (drained) while the agent was loading: hang up the stream too.
      if (socket.readyState === socket.OPEN) socket.close(1001, 'call ended');
    }

    function onStart(msg: unknown): void {
      const start = startSchema.safeParse(msg);
      if (!start.success) return refuse(1008, 'start without callId, agentId and token');
      const { customParameters: params, streamSid, callSid } = start.data.start;
      const now = nowMs();
      const verified = verifyStreamToken(params.token, opts.streamTokenSecret, now);
      if (!verified.ok) return refuse(1008, `stream token ${verified.reason}`);
      const { claims } = verified;
      if (claims.callId !== params.callId || claims.agentId !== params.agentId) {
        return refuse(1008, 'stream token is for another call', { callId: params.callId });
      }
      if (typeof claims.jti !== 'string' || !used.use(claims.jti, claims.exp, now)) {
        return refuse(1008, 'stream token already used', { callId: claims.callId });
      }
      const openRealtime = opts.openRealtime;
      if (!openRealtime) return refuse(1011, 'OpenAI is not configured (OPENAI_API_KEY)');
      const id = claims.callId;
      const ok = opts.calls.tryAdd({
        callId: id,
        end: () => {
          finish('completed');
          return Promise.resolve();
        },
      });
      if (!ok) return refuse(1013, 'try again later', { callId: id });
      state = 'starting';
      opts.metrics?.liveCalls.inc();
      if (claims.setupStartMs !== undefined) {
        // Epoch clocks of two processes (gateway, bridge): fine within one cluster's NTP.
        const ms = Math.max(0, now - claims.setupStartMs);
        opts.metrics?.setupStage.observe({ stage: 'stream' }, ms / 1_000);
      }
      void connect({
        id,
        agentId: claims.agentId,
        streamSid,
        callSid,
        setupStartMs: claims.setupStartMs,
        openRealtime,
        direction: params.direction,
        traceContext: contextFromTraceparent(params.traceparent),
      });
    }

    async function connect(call: {
      id: string;
      agentId: string;
      streamSid: string;
      callSid: string | undefined;
      setupStartMs: number | undefined;
      openRealtime: OpenRealtime;
      direction: 'inbound' | 'outbound' | undefined;
      traceContext: Context;
    }): Promise<void> {
      const { id } = call;
      const callLog = log.child({ callId: id, streamSid: call.streamSid });
      const released = () => {
        opts.calls.remove(id);
        opts.metrics?.liveCalls.dec();
      };
      let agent: AgentSession | null;
      try {
        const lookupStart = performance.now();
        agent = await opts.loadAgent(call.agentId, call.id);
        opts.metrics?.setupStage.observe(
          { stage: 'agent' },
          (performance.now() - lookupStart) / 1_000,
        );
      } catch (err) {
        callLog.error({ err }, 'agent lookup failed');
        released();
        if (state !== 'closed') refuse(1011, 'agent lookup failed');
        return;
      }
      if (endBeforeLive !== null || state === 'closed') {
        released();
        return;
      }
      if (!agent) {
        released();
        return refuse(1008, 'unknown agent', { callId: id, agentId: call.agentId });
      }
      const twilioCalls = opts.twilioCalls;
      const { callSid } = call;
      const apologyText = opts.apologyText ?? DEFAULT_APOLOGY;
      const wire = twilioWire(call.streamSid);
      const s = launchCall(opts, {
        callId: id,
        transport: 'media-streams',
        direction: call.direction,
        traceContext: call.traceContext,
        agentId: call.agentId,
        agent,
        log: callLog,
        openRealtime: (handlers) => call.openRealtime(agent, handlers),
        apologize:
          twilioCalls && callSid
            ? () =>
                twilioCalls.sayAndHangUp(callSid, apologyText).catch((err: unknown) => {
                  callLog.error({ err }, 'apology not delivered: Twilio refused the call update');
                })
            : null,
        setupStartMs: call.setupStartMs,
        media: {
          kind: 'twilio',
          streamSid: call.streamSid,
          twilio: {
            send: (m: TwilioOutbound) => {
              if (socket.readyState !== socket.OPEN) return false;
              // Back-pressure: a caller's socket that stopped draining does not grow our memory.
              if (m.event === 'media' && socket.bufferedAmount > maxBuffered) return false;
              socket.send(wire(m));
              return true;
            },
            batch: (sends) => {
              // `ws` exposes no batching; corking its TCP socket (which `ws` itself does around
              // each frame) makes a delta's frames and marks leave in one write.
              const raw = (socket as unknown as { _socket?: Socket | null })._socket;
              if (!raw) return sends();
              raw.cork();
              try {
                sends();
              } finally {
                raw.uncork();
              }
            },
            close: (code, reason) => {
              if (socket.readyState === socket.OPEN) socket.close(code, reason);
            },
          },
        },
        onEnded: () => {
          state = 'closed';
          released();
        },
      });
      session = s;
      state = s.ended ? 'closed' : 'live';
      if (!twilioCalls) callLog.debug('no Twilio credentials: a provider failure just hangs up');
      callLog.info('call bridged');
      for (const payload of pending.splice(0)) s.callerAudio(payload);
    }
  });
}
