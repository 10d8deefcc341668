/**
 * The OpenAI leg of a SIP call: the sideband WebSocket (`?call_id=`, openai-realtime.md 6.5),
 * through the openai SDK's `OpenAIRealtimeWS` with `callID`. OpenAI carries the audio over SIP;
 * this socket carries the conversation's events and our commands (responses, injected
 * messages, and tool results with issue 8). Server events reach the session through the same
 * {@link routeServerEvents} as a Media Streams call's.
 *
 * Reconnecting is ours: the SDK's recovery is for model sessions only. The provider's session
 * lives on while the sideband is away (the call is the session), so a new socket needs no
 * restoring: the caller keeps talking with the model meanwhile. A normal close (1000) or a
 * refused reconnect with 404 means the call itself is over (the caller hung up).
 */
import { OpenAIRealtimeWS } from 'openai/realtime/ws';

import type { RealtimeHandlers, RealtimeLeg } from '../domain/realtime-leg.js';
import {
  injectEvents,
  responseCreateEvent,
  routeServerEvents,
  toolOutputEvent,
  type RealtimeEndpoint,
} from './openai-realtime.js';

export interface SidebandOptions {
  /** Reconnects per outage before the call is given up (REALTIME_MAX_RECONNECTS). */
  maxReconnects: number;
  /** First reconnect delay, doubling per attempt, in ms. @defaultValue 100 */
  reconnectDelayMs?: number;
  /** Longest delay between attempts, in ms. @defaultValue 2 000 */
  maxDelayMs?: number;
}

/** Opens the sideband of SIP call `openaiCallId`. */
export type OpenSideband = (openaiCallId: string, handlers: RealtimeHandlers) => RealtimeLeg;

/** An upgrade answered 404: OpenAI has no such call (any more). */
const CALL_GONE = /Unexpected server response: 404/;

export function openAISideband(endpoint: RealtimeEndpoint, opts: SidebandOptions): OpenSideband {
  const { client, socketOptions } = endpoint;
  const firstDelay = opts.reconnectDelayMs ?? 100;
  const maxDelay = opts.maxDelayMs ?? 2_000;
  return (openaiCallId, handlers) => {
    const buildRealtimeURL = endpoint.url({ call_id: openaiCallId });
    let rt: OpenAIRealtimeWS | null = null;
    let live = false;
    let closedByUs = false;
    let everOpened = false;
    let away = false;
    let attempts = 0;
    let timer: NodeJS.Timeout | null = null;
    let receivedAt = 0;

    const finish = (how: () => void) => {
      closedByUs = true;
      live = false;
      how();
    };

    const connect = () => {
      timer = null;
      if (closedByUs) return;
      const socket = new OpenAIRealtimeWS(
        {
          callID: openaiCallId,
          ...(buildRealtimeURL ? { buildRealtimeURL } : {}),
          ...(socketOptions ? { options: socketOptions } : {}),
        },
        client,
      );
      rt = socket;
      let gone = false;
      socket.socket.prependListener('message', () => {
        receivedAt = performance.now();
      });
      socket.socket.on('error', (err) => {
        if (CALL_GONE.test(err.message)) gone = true;
      });
      routeServerEvents(socket, handlers, () => receivedAt);
      socket.socket.once('open', () => {
        if (closedByUs) return socket.close();
        live = true;
        attempts = 0;
        if (!everOpened) {
          everOpened = true;
          handlers.opened();
        } else if (away) {
          away = false;
          handlers.restored();
        }
      });
      socket.socket.on('close', (code, why) => {
        live = false;
        if (closedByUs || rt !== socket) return;
        const reason = String(why);
        if (code === 1000 || gone) return finish(() => handlers.hungUp());
        if (attempts >= opts.maxReconnects) return finish(() => handlers.lost(code, reason));
        if (!away) {
          away = true;
          handlers.interrupted(code);
        }
        const delay = Math.min(maxDelay, firstDelay * 2 ** attempts);
        attempts += 1;
        timer = setTimeout(connect, delay);
      });
    };
    connect();

    const send = (event: Record<string, unknown>) => {
      if (live && rt && rt.socket.readyState === rt.socket.OPEN) rt.send(event as never);
    };
    return {
      // The audio is on SIP/RTP, never on this socket (openai-realtime.md 6.5).
      sendAudio: () => false,
      // The provider truncates a SIP call's audio itself; the session never asks.
      truncate: () => undefined,
      createResponse: (instructions, options) =>
        send(responseCreateEvent({ ...options, ...(instructions ? { instructions } : {}) })),
      sendToolOutput: (callId, output) => send(toolOutputEvent(callId, output)),
      // The provider's session outlived the socket: nothing to restore.
      restore: () => undefined,
      inject: (text, role) => {
        for (const event of injectEvents(text, role)) send(event);
      },
      close: () => {
        if (closedByUs) return;
        closedByUs = true;
        live = false;
        if (timer) clearTimeout(timer);
        rt?.close();
      },
    };
  };
}
