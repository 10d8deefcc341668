/**
 * WebSocket `/media`: Twilio Media Streams (twilio.md 4). The message handler is attached before
 * any await (STYLE.md 6.2), the `start` frame's stream token is checked (gateway-signed, one
 * use), then a {@link CallSession} bridges the stream to an OpenAI Realtime session.
 *
 * Close codes: 1008 bad/expired/replayed token or unknown agent; 1013 at capacity or draining;
 * 1011 OpenAI not configured or a bridge failure.
 */
import websocket from '@fastify/websocket';
import type { FastifyInstance } from 'fastify';
import type { WebSocket } from 'ws';
import { z } from 'zod';

import type { CallEndReason } from '@app/contracts';
import { verifyStreamToken } from '@app/platform';

import type { AgentSession, OpenRealtime } from '../adapters/openai-realtime.js';
import { CallSession, type SessionEvent } from '../domain/call-session.js';
import type { LiveCalls } from '../domain/live-calls.js';
import type { BridgeMetrics } from '../metrics.js';

export interface MediaStreamOptions {
  calls: LiveCalls;
  streamTokenSecret: string;
  /** Null when OPENAI_API_KEY is unset: every stream is refused. */
  openRealtime: OpenRealtime | null;
  /** The agent's session settings; null when there is no such agent. */
  loadAgent: (agentId: string) => Promise<AgentSession | null>;
  /** Publishes one call event (`calls.<callId>.<event>`); failures are logged by the caller. */
  publish: (callId: string, event: SessionEvent) => Promise<void>;
  metrics?: BridgeMetrics;
  /** ms clock, for token expiry. @defaultValue Date.now */
  nowMs?: () => number;
  /**
   * Called when a call is bridged, with what others may do to it (call-control); returns the
   * cleanup run when the call ends (ownership release, control subscription).
   */
  onCallLive?: (call: LiveCallControl) => () => void;
}

/** What the rest of the bridge may do to a live call. */
export interface LiveCallControl {
  callId: string;
  hangup(reason: CallEndReason): void;
  inject(text: string, role: 'system' | 'user'): boolean;
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
    }),
  }),
});

const mediaSchema = z.object({
  event: z.literal('media'),
  media: z.object({ payload: z.string(), track: z.string().optional() }),
});
const markSchema = z.object({ event: z.literal('mark'), mark: z.object({ name: z.string() }) });

/** At most this many caller frames wait while the agent loads (10 s of 20 ms frames). */
const MAX_PENDING_FRAMES = 500;

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

export async function mediaStreamRoutes(
  app: FastifyInstance,
  opts: MediaStreamOptions,
): Promise<void> {
  await app.register(websocket, { options: { maxPayload: 1024 * 1024 } });
  const used = new UsedTokens();
  const nowMs = opts.nowMs ?? Date.now;

  app.get('/media', { websocket: true }, (socket: WebSocket, request) => {
    const log = request.log.child({ route: 'media' });
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
      if (state === 'closed') return;
      if (isBinary) {
        log.warn('binary frame on media stream ignored');
        return;
      }
      let msg: unknown;
      try {
        msg = JSON.parse(String(raw));
      } catch {
        log.warn('malformed JSON on media stream ignored');
        return;
      }
      const event = (msg as { event?: unknown } | null)?.event;
      switch (event) {
        case 'connected':
          return;
        case 'start':
          if (state !== 'awaiting-start') {
            log.warn('second start ignored');
            return;
          }
          return onStart(msg);
        case 'media': {
          const m = mediaSchema.safeParse(msg);
          if (!m.success) {
            log.warn('malformed media frame ignored');
            return;
          }
          if (state === 'awaiting-start') {
            log.warn('media before start ignored');
            return;
          }
          if (session) session.callerAudio(m.data.media.payload);
          else if (pending.length < MAX_PENDING_FRAMES) pending.push(m.data.media.payload);
          return;
        }
        case 'mark': {
          const m = markSchema.safeParse(msg);
          if (m.success) session?.markEchoed(m.data.mark.name);
          return;
        }
        case 'dtmf':
          return;
        case 'stop':
          return finish('caller-hangup');
        default:
          log.warn({ event: typeof event === 'string' ? event : null }, 'unknown event ignored');
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
      const { customParameters: params, streamSid } = start.data.start;
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
      void connect(id, claims.agentId, streamSid, openRealtime);
    }

    async function connect(
      id: string,
      agentId: string,
      streamSid: string,
      openRealtime: OpenRealtime,
    ): Promise<void> {
      const callLog = log.child({ callId: id, streamSid });
      const released = () => {
        opts.calls.remove(id);
        opts.metrics?.liveCalls.dec();
      };
      let agent: AgentSession | null;
      try {
        agent = await opts.loadAgent(agentId);
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
        return refuse(1008, 'unknown agent', { callId: id, agentId });
      }
      const emit = (event: SessionEvent) => {
        opts.publish(id, event).catch((err: unknown) => {
          callLog.error({ err, event: event.event }, 'call event not published');
        });
      };
      let cleanup: (() => void) | null = null;
      const s = new CallSession({
        callId: id,
        streamSid,
        emit,
        twilio: {
          send: (m) => {
            if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(m));
          },
          close: (code, reason) => {
            if (socket.readyState === socket.OPEN) socket.close(code, reason);
          },
        },
        onEnded: (reason) => {
          state = 'closed';
          released();
          cleanup?.();
          callLog.info({ reason }, 'call ended');
        },
        onFrame: (direction) => opts.metrics?.frames.inc({ direction }),
        onBargeIn: (ms) => opts.metrics?.bargeInReaction.observe(ms / 1_000),
      });
      session = s;
      state = 'live';
      const leg = openRealtime(agent, {
        audioDelta: (itemId, delta) => s.agentAudio(itemId, delta),
        audioDone: (itemId) => s.agentAudioDone(itemId),
        speechStarted: () => s.speechStarted(),
        responseCreated: () => s.responseCreated(),
        responseDone: () => s.responseDone(),
        callerTranscript: (itemId, text) => s.callerTranscript(itemId, text),
        agentTranscript: (itemId, text) => s.agentTranscript(itemId, text),
        error: (code, message, fatal) => {
          if (s.ended) return;
          callLog.warn({ code, message, fatal }, 'openai error');
          s.realtimeError(code, message, fatal);
        },
      });
      s.start(leg);
      cleanup =
        opts.onCallLive?.({
          callId: id,
          hangup: (reason) => s.end(reason),
          inject: (text, role) => s.inject(text, role),
        }) ?? null;
      callLog.info('call bridged');
      for (const payload of pending.splice(0)) s.callerAudio(payload);
    }
  });
}
