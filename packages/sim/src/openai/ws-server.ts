/**
 * The Realtime WebSocket endpoint `/v1/realtime` (openai-realtime.md §1), attached to the plain
 * HTTP and the TLS server alike. The handshake is checked before upgrading: bad or missing key →
 * HTTP 401, unknown `call_id` → 404 (both "observed", §1), so clients see the same failures the
 * real API gives them.
 */
import type { IncomingMessage, Server } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';

import { WebSocketServer, type WebSocket } from 'ws';

import type { Logger } from '@app/platform';

import type { SipCalls } from './calls.js';
import { ClientEventError, ERROR_CODE, ERROR_TYPE, restErrorBody } from './errors.js';
import type { RealtimeSession, SessionSink } from './realtime-session.js';
import { bearerKey, invalidKeyBody } from './rest-routes.js';

const SUBPROTOCOL_KEY = 'openai-insecure-api-key.';

export interface WsDeps {
  apiKeys: ReadonlySet<string>;
  calls: SipCalls;
  log: Logger;
  createSession(model: string): RealtimeSession;
}

function refuse(socket: Duplex, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n` +
      'Content-Type: application/json\r\n' +
      `Content-Length: ${Buffer.byteLength(text)}\r\n` +
      'Connection: close\r\n\r\n' +
      text,
  );
}

function sinkFor(ws: WebSocket): SessionSink {
  return {
    send: (data) => {
      if (ws.readyState !== ws.OPEN) return false;
      ws.send(data); // a Buffer goes out as a binary frame
      return true;
    },
    close: (code, reason) => {
      if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.close(code, reason);
    },
    terminate: () => ws.terminate(),
  };
}

/** Key from `Authorization: Bearer` or the browser subprotocol `openai-insecure-api-key.<key>` (§1). */
function handshakeKey(req: IncomingMessage): string | undefined {
  const bearer = bearerKey(req.headers.authorization);
  if (bearer !== undefined) return bearer;
  const protocols = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
  return protocols.find((p) => p.startsWith(SUBPROTOCOL_KEY))?.slice(SUBPROTOCOL_KEY.length);
}

export class RealtimeWsServer {
  readonly #wss = new WebSocketServer({
    noServer: true,
    maxPayload: 20 * 1024 * 1024,
    // Browsers authenticate with subprotocols and expect `realtime` back (§1).
    handleProtocols: (protocols) => (protocols.has('realtime') ? 'realtime' : false),
  });

  constructor(private readonly deps: WsDeps) {}

  attach(server: Server): void {
    server.on('upgrade', (req, socket, head) => this.#upgrade(req, socket, head));
  }

  #upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://sim.local');
    if (url.pathname !== '/v1/realtime' && url.pathname !== '/v1/realtime/') {
      refuse(
        socket,
        404,
        restErrorBody(ERROR_TYPE.invalidRequest, null, `Invalid URL (GET ${url.pathname})`),
      );
      return;
    }
    const key = handshakeKey(req);
    if (key === undefined || !this.deps.apiKeys.has(key)) {
      refuse(socket, 401, invalidKeyBody(key));
      return;
    }
    const model = url.searchParams.get('model');
    const callId = url.searchParams.get('call_id');
    const intent = url.searchParams.get('intent');
    if (Number(model !== null) + Number(callId !== null) + Number(intent !== null) !== 1) {
      refuse(
        socket,
        400,
        restErrorBody(
          ERROR_TYPE.invalidRequest,
          ERROR_CODE.missingRequiredParameter,
          'Pass exactly one of model, call_id or intent.',
          'model',
        ),
      );
      return;
    }
    if (intent !== null) {
      refuse(
        socket,
        400,
        restErrorBody(
          ERROR_TYPE.invalidRequest,
          ERROR_CODE.invalidValue,
          'Transcription sessions are not simulated.',
          'intent',
        ),
      );
      return;
    }
    let session: RealtimeSession | undefined;
    if (callId !== null) {
      session = this.deps.calls.get(callId)?.session;
      if (!session || session.closed) {
        refuse(
          socket,
          404,
          restErrorBody(
            ERROR_TYPE.invalidRequest,
            ERROR_CODE.callNotFound,
            `Call with id '${callId}' not found.`,
            'call_id',
          ),
        );
        return;
      }
    }
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      const target = session ?? this.deps.createSession(model as string);
      this.#serve(ws, target);
    });
  }

  #serve(ws: WebSocket, session: RealtimeSession): void {
    const sink = sinkFor(ws);
    // Handlers first, so no early frame is lost (STYLE.md 6.2).
    ws.on('message', (data, isBinary) => {
      if (isBinary) {
        // The API speaks JSON text frames only (§1).
        session.fail(
          new ClientEventError(
            ERROR_CODE.invalidEvent,
            'Binary frames are not supported; send JSON text frames.',
          ),
          null,
          undefined,
          sink,
        );
        return;
      }
      session.handleText(
        Buffer.isBuffer(data)
          ? data.toString('utf8')
          : Buffer.concat(data as Buffer[]).toString('utf8'),
        sink,
      );
    });
    ws.on('error', (err) => session.log.debug({ err }, 'websocket error'));
    ws.on('close', () => {
      session.detach(sink);
      if (session.kind === 'ws') session.close();
    });
    session.attach(sink);
    this.deps.log.debug(
      { sessionId: session.id, callId: session.callId },
      'realtime socket connected',
    );
  }

  close(): void {
    for (const ws of this.#wss.clients) ws.terminate();
    this.#wss.close();
  }
}
