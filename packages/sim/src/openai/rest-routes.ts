/**
 * REST surface: `POST /v1/realtime/calls/{call_id}/accept|reject|refer|hangup`
 * (openai-realtime.md §6 steps 3–7, §7.2). Bearer auth, 200 with an empty body, and OpenAI's
 * error JSON `{error:{message,type,param,code}}` (the body shape is UNCONFIRMED for these paths, §6).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';

import { CallActionError, type SipCalls } from './calls.js';
import { ClientEventError, ERROR_CODE, ERROR_TYPE, restErrorBody } from './errors.js';
import type { Faults } from './faults.js';
import { defaultSessionConfig, mergeSessionConfig, parseSessionUpdate } from './session-config.js';
import { parseStrict } from './validation.js';

export interface RestDeps {
  apiKeys: ReadonlySet<string>;
  calls: SipCalls;
  faults: Faults;
}

const rejectSchema = z
  .object({ status_code: z.number().int().min(400).max(699).optional() })
  .strict();
const referSchema = z
  .object({ target_uri: z.string().regex(/^(tel|sip|sips):.+/, 'expected a tel: or sip: URI') })
  .strict();

/** The Bearer key of a request, from `Authorization` (REST and the WS handshake). */
export function bearerKey(header: string | undefined): string | undefined {
  const m = /^Bearer\s+(.+)$/i.exec(header ?? '');
  return m?.[1]?.trim();
}

function invalidKeyBody(key: string | undefined) {
  return key === undefined
    ? restErrorBody(
        ERROR_TYPE.invalidRequest,
        null,
        "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
      )
    : restErrorBody(
        ERROR_TYPE.invalidRequest,
        ERROR_CODE.invalidApiKey,
        `Incorrect API key provided: ${key.slice(0, 3)}***${key.slice(-4)}.`,
      );
}
export { invalidKeyBody };

export function registerRestRoutes(app: FastifyInstance, deps: RestDeps): void {
  // The SDK posts `hangup` without a body and `accept` with JSON; accept both, and answer bad
  // JSON in OpenAI's shape rather than Fastify's.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch {
      const err = Object.assign(new Error('We could not parse the JSON body of your request.'), {
        statusCode: 400,
      });
      done(err, undefined);
    }
  });

  app.setErrorHandler((err: Error & { statusCode?: number }, _req, reply) => {
    const status = err.statusCode ?? 500;
    return reply
      .code(status)
      .send(
        restErrorBody(
          status >= 500 ? ERROR_TYPE.server : ERROR_TYPE.invalidRequest,
          null,
          err.message,
        ),
      );
  });
  app.setNotFoundHandler((req, reply) =>
    reply
      .code(404)
      .send(
        restErrorBody(ERROR_TYPE.invalidRequest, null, `Invalid URL (${req.method} ${req.url})`),
      ),
  );

  app.addHook('onRequest', async (req, reply) => {
    const key = bearerKey(req.headers.authorization);
    if (key === undefined || !deps.apiKeys.has(key))
      return reply.code(401).send(invalidKeyBody(key));
    const callId = (req.params as { call_id?: string } | undefined)?.call_id;
    if (deps.faults.take('restRateLimits', callId)) {
      return reply
        .code(429)
        .send(
          restErrorBody(
            'requests',
            ERROR_CODE.rateLimitExceeded,
            'Rate limit reached for requests. (simulated)',
          ),
        );
    }
    if (deps.faults.take('restServerErrors', callId)) {
      return reply
        .code(500)
        .send(
          restErrorBody(
            ERROR_TYPE.server,
            null,
            'The server had an error while processing your request. (simulated)',
          ),
        );
    }
  });

  type CallReq = FastifyRequest<{ Params: { call_id: string } }>;
  const act = (fn: (req: CallReq) => void) => async (req: CallReq, reply: FastifyReply) => {
    try {
      fn(req);
    } catch (err) {
      if (err instanceof CallActionError) {
        return reply
          .code(err.status)
          .send(
            restErrorBody(
              ERROR_TYPE.invalidRequest,
              err.status === 404 ? ERROR_CODE.callNotFound : null,
              err.message,
            ),
          );
      }
      if (err instanceof ClientEventError) {
        return reply.code(400).send(restErrorBody(err.type, err.code, err.message, err.param));
      }
      throw err;
    }
    return reply.code(200).send();
  };

  app.post(
    '/v1/realtime/calls/:call_id/accept',
    act((req) => {
      // Validate before looking the call up: a bad body is 400 even for a live call.
      const update = parseSessionUpdate(req.body ?? {}, '');
      const config = mergeSessionConfig(
        defaultSessionConfig(update.model ?? 'gpt-realtime', 'pcmu'),
        update,
      );
      deps.calls.accept(req.params.call_id, config);
    }),
  );
  app.post(
    '/v1/realtime/calls/:call_id/reject',
    act((req) => {
      const body = parseStrict(rejectSchema, req.body ?? {}, '');
      deps.calls.reject(req.params.call_id, body.status_code ?? 603);
    }),
  );
  app.post(
    '/v1/realtime/calls/:call_id/refer',
    act((req) => {
      const body = parseStrict(referSchema, req.body ?? {}, '');
      deps.calls.refer(req.params.call_id, body.target_uri);
    }),
  );
  app.post(
    '/v1/realtime/calls/:call_id/hangup',
    act((req) => deps.calls.hangup(req.params.call_id)),
  );
}
