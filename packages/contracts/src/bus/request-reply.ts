/**
 * Request/reply over core NATS for the endpoints (`call-control.<callId>`,
 * `call-bridge.sip-offer`, `tool-runner.execute`, `handoff.transfer`), validated both ways.
 *
 * The requester validates its request before sending and the reply after receiving (a bad reply
 * is a `TypeError`). The server validates each request; an invalid one is logged and answered
 * with the endpoint's own failure reply (`INVALID_REQUEST`), so the requester learns why at
 * once instead of timing out. A handler that throws is logged and answered with `INTERNAL`.
 */
import {
  type Msg,
  type MsgHdrs,
  type NatsConnection,
  type Subscription,
} from '@nats-io/transport-node';
import { context } from '@opentelemetry/api';

import { buildEnvelope, parseOrThrow } from '../envelope.js';
import {
  decodeMessage,
  decodeReply,
  ENDPOINTS,
  type EndpointName,
  type EndpointReply,
  type EndpointReplyData,
  type EndpointRequest,
} from '../registry.js';
import { type Names, type SubjectKind } from '../subjects.js';
import { type BusLogger } from './logger.js';
import { encodeMessage } from './publish.js';
import { extractTraceContext, injectTraceContext } from './trace.js';

/** Failure codes the serving side answers with on its own. */
export const ReplyFailureCode = {
  /** The request failed its schema; retrying the same request cannot help. */
  InvalidRequest: 'INVALID_REQUEST',
  /** The handler threw; the cause is in the server's log. */
  Internal: 'INTERNAL',
} as const;
export type ReplyFailureCode = (typeof ReplyFailureCode)[keyof typeof ReplyFailureCode];

/** Each endpoint's reply for a failure the server detects itself. */
const failureReply: {
  [E in EndpointName]: (code: ReplyFailureCode, message: string) => EndpointReplyData<E>;
} = {
  'call-control': (code, message) => ({ ok: false, error: { code, message } }),
  'tool-execute': (code, message) => ({
    ok: false,
    error: { code, message, retryable: code === ReplyFailureCode.Internal },
  }),
  'sip-offer': (code) => ({ status: 'rejected', reason: code.toLowerCase().replace('_', '-') }),
  'handoff-transfer': (code) => ({
    status: 'rejected',
    reason: code.toLowerCase().replace('_', '-'),
  }),
};

/** The subject of endpoint `endpoint`; `callId` is needed by `call-control` only. */
export function endpointSubject(names: Names, endpoint: EndpointName, callId?: string): string {
  switch (endpoint) {
    case 'call-control':
      if (callId === undefined) throw new TypeError('call-control needs a callId');
      return names.subjects.callControl(callId);
    case 'sip-offer':
      return names.subjects.sipOffer;
    case 'tool-execute':
      return names.subjects.toolExecute;
    case 'handoff-transfer':
      return names.subjects.handoffTransfer;
  }
}

/** The queue group each endpoint is served in (`null`: only the call's owner subscribes). */
export function endpointQueue(names: Names, endpoint: EndpointName): string | null {
  switch (endpoint) {
    case 'call-control':
      return null;
    case 'sip-offer':
      return names.services.callBridge;
    case 'tool-execute':
      return names.services.toolRunner;
    case 'handoff-transfer':
      return names.services.handoff;
  }
}

export interface RequestOptions {
  /** How long to wait for the reply, in ms. @defaultValue 5000 */
  readonly timeoutMs?: number;
}

/**
 * Validates `message`, sends it to its endpoint and returns the validated reply.
 *
 * @throws TypeError when the request or the reply fails its schema.
 * @throws the NATS client's errors when there is no responder or the request times out.
 */
export async function request<E extends EndpointName>(
  nc: NatsConnection,
  names: Names,
  endpoint: E,
  message: EndpointRequest<E>,
  options: RequestOptions = {},
): Promise<EndpointReply<E>> {
  const valid = parseOrThrow(ENDPOINTS[endpoint].request, message, `${endpoint} request`);
  const headers = injectTraceContext();
  const reply = await nc.request(
    endpointSubject(names, endpoint, valid.callId),
    encodeMessage(valid),
    {
      timeout: options.timeoutMs ?? 5_000,
      ...(headers ? { headers } : {}),
    },
  );
  const decoded = decodeReply(endpoint, reply.data);
  if (!decoded.ok) throw new TypeError(`invalid ${endpoint} reply: ${decoded.reason}`);
  return decoded.message;
}

/** What one endpoint's request handling needs (see {@link endpointRequestHandler}). */
export interface EndpointHandlerOptions<E extends EndpointName> {
  readonly names: Names;
  readonly endpoint: E;
  readonly logger: BusLogger;
  /** Answers one valid request with the reply `data`; throwing answers `INTERNAL`. */
  readonly handler: (
    request: EndpointRequest<E>,
    meta: { readonly subject: string },
  ) => EndpointReplyData<E> | Promise<EndpointReplyData<E>>;
}

export type ServeOptions<E extends EndpointName> = EndpointHandlerOptions<E> & {
  readonly nc: NatsConnection;
  /**
   * Queue group. @defaultValue the endpoint's service name (see {@link endpointQueue}); `null`
   * for none.
   */
  readonly queue?: string | null;
} & (E extends 'call-control' ? { readonly callId: string } : { readonly callId?: undefined });

/**
 * Sends an encoded reply; `failure` is set when the serving side failed the request itself
 * (the `@nats-io/services` form also marks those replies as service errors, for its stats).
 * Returns false when the request had no reply subject.
 */
export type ReplySender<M extends Msg = Msg> = (
  msg: M,
  payload: Uint8Array,
  options: { readonly headers?: MsgHdrs; readonly failure?: ReplyFailureCode },
) => boolean;

const plainReply: ReplySender = (msg, payload, { headers }) =>
  msg.respond(payload, headers ? { headers } : undefined);

/**
 * Handles one request message of `options.endpoint`: decodes and validates it (an invalid one is
 * answered `INVALID_REQUEST`), runs the handler in the requester's trace context and answers with
 * its validated reply (a throw or an invalid reply answers `INTERNAL`). Never rejects. Shared by
 * {@link serveEndpoint} and the `@nats-io/services` form in `service.ts`.
 */
export function endpointRequestHandler<E extends EndpointName, M extends Msg = Msg>(
  options: EndpointHandlerOptions<E>,
  send: ReplySender<M> = plainReply,
): (msg: M) => Promise<void> {
  const { names, endpoint, logger } = options;
  const fail = failureReply[endpoint] as (c: ReplyFailureCode, m: string) => EndpointReplyData<E>;

  const respond = (
    msg: M,
    data: EndpointReplyData<E>,
    callId: string | undefined,
    failure?: ReplyFailureCode,
  ) => {
    const reply = buildEnvelope(ENDPOINTS[endpoint].reply, data as never, { callId });
    const headers = injectTraceContext();
    const sent = send(msg, encodeMessage(reply), {
      ...(headers ? { headers } : {}),
      ...(failure ? { failure } : {}),
    });
    if (!sent) logger.warn({ subject: msg.subject, callId }, 'request without a reply subject');
  };

  const handle = async (msg: M) => {
    const decoded = decodeMessage(names, msg.subject, msg.data, endpoint as SubjectKind);
    if (!decoded.ok) {
      logger.warn({ subject: msg.subject, reason: decoded.reason }, 'invalid request rejected');
      const code = ReplyFailureCode.InvalidRequest;
      respond(msg, fail(code, decoded.reason), undefined, code);
      return;
    }
    const req = decoded.message as EndpointRequest<E>;
    let data: EndpointReplyData<E>;
    try {
      data = await context.with(extractTraceContext(msg.headers), () =>
        options.handler(req, { subject: msg.subject }),
      );
      // Validate here, so a bad reply is this side's INTERNAL error, not the requester's puzzle.
      respond(msg, data, req.callId);
    } catch (err) {
      logger.error({ subject: msg.subject, callId: req.callId, err }, 'request handler failed');
      const code = ReplyFailureCode.Internal;
      respond(msg, fail(code, 'internal error'), req.callId, code);
    }
  };

  return (msg) =>
    handle(msg).catch((cause: unknown) =>
      logger.error({ subject: msg.subject, err: cause }, 'request handling failed'),
    );
}

/** Serves endpoint `options.endpoint`; stop with `subscription.unsubscribe()` or `nc.drain()`. */
export function serveEndpoint<E extends EndpointName>(options: ServeOptions<E>): Subscription {
  const { nc, names, endpoint, logger } = options;
  const subject = endpointSubject(names, endpoint, options.callId);
  const queue = options.queue === undefined ? endpointQueue(names, endpoint) : options.queue;
  const handle = endpointRequestHandler(options);

  return nc.subscribe(subject, {
    ...(queue === null ? {} : { queue }),
    callback: (err, msg) => {
      if (err) {
        logger.error({ subject, err }, 'subscription failed');
        return;
      }
      void handle(msg);
    },
  });
}
