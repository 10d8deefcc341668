/**
 * API-key authentication shared by the REST routes (`/v1/calls`, `/v1/campaigns`): an `onRequest`
 * hook, so an anonymous client never makes us read a body.
 *
 * - No key, another scheme: 401 with `WWW-Authenticate: Bearer` (RFC 6750 §3).
 * - An unknown or a revoked key: 401 `invalid_token`.
 * - A role that may not do what the request does: 403 `insufficient_scope`.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

import type { ApiKeyRole } from '@app/db';

import { API_KEY_ROLES, type ApiKeyPrincipal, type ApiKeyStore } from '../adapters/api-keys.js';

export interface ApiKeyAuthOptions {
  apiKeys: ApiKeyStore;
  /** The roles allowed for this request (e.g. every role for a GET, writers for the rest). */
  rolesFor: (request: FastifyRequest) => readonly ApiKeyRole[];
  /** What the request does, for the 403 message: `place calls`, `change campaigns`. */
  actionFor: (request: FastifyRequest) => string;
}

/** The roles that act (place calls, change campaigns); `viewer` only reads. */
export const WRITER_ROLES: readonly ApiKeyRole[] = ['admin', 'operator'];

/** RFC 6750 §3: a Bearer challenge; the error code only when a token was presented. */
const challenge = (error?: 'invalid_token' | 'insufficient_scope') =>
  error ? `Bearer realm="api", error="${error}"` : 'Bearer realm="api"';

/**
 * Builds the hook and the lookup of the principal it authenticated. Each plugin gets its own
 * pair, so a request's principal lives only as long as the request (a WeakMap).
 */
export function apiKeyAuth(opts: ApiKeyAuthOptions): {
  hook: (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;
  principalOf: (request: FastifyRequest) => ApiKeyPrincipal | undefined;
} {
  const principals = new WeakMap<FastifyRequest, ApiKeyPrincipal>();
  const hook = async (request: FastifyRequest, reply: FastifyReply) => {
    const header = request.headers.authorization;
    // RFC 9110 §11.1: the scheme is case-insensitive.
    const match = header === undefined ? null : /^bearer +(\S+)\s*$/i.exec(header);
    if (!match?.[1]) {
      return reply
        .code(401)
        .header('www-authenticate', challenge())
        .send({ error: 'missing API key: send Authorization: Bearer <key>' });
    }
    const check = await opts.apiKeys.authenticate(match[1]);
    if (check.status !== 'valid') {
      request.log.warn(
        {
          reason: check.status,
          ...(check.status === 'revoked' ? { keyPrefix: check.prefix } : {}),
        },
        'api key refused',
      );
      return reply
        .code(401)
        .header('www-authenticate', challenge('invalid_token'))
        .send({ error: 'invalid or revoked API key' });
    }
    const allowed = opts.rolesFor(request);
    if (!allowed.includes(check.key.role)) {
      request.log.warn(
        { keyPrefix: check.key.prefix, role: check.key.role },
        'api key role refused',
      );
      return reply
        .code(403)
        .header('www-authenticate', challenge('insufficient_scope'))
        .send({
          error: `role ${check.key.role} may not ${opts.actionFor(request)} (${allowed.join(' or ')} may)`,
        });
    }
    principals.set(request, check.key);
    return undefined;
  };
  return { hook, principalOf: (request) => principals.get(request) };
}

const READS = new Set(['GET', 'HEAD']);

/**
 * The set-up every admin resource plugin shares (`/v1/campaigns`, `/v1/human-agents`,
 * `/v1/http-tools`): any role reads, writers write, checked in `onRequest`; a 4xx thrown by fastify
 * (bad JSON, body too large) answers `{ error }`, anything else is logged and answers 500. Returns
 * the audit actor of a request (`api-key:<prefix>`).
 */
export function adminResourceAuth(
  app: FastifyInstance,
  opts: {
    apiKeys: ApiKeyStore;
    /** What a write does, for the 403 message (`change campaigns`). */
    actionFor: (request: FastifyRequest) => string;
    /** The log message of an unexpected failure (`campaign request failed`). */
    failureLog: string;
  },
): (request: FastifyRequest) => string {
  const auth = apiKeyAuth({
    apiKeys: opts.apiKeys,
    rolesFor: (request) => (READS.has(request.method) ? API_KEY_ROLES : WRITER_ROLES),
    actionFor: opts.actionFor,
  });
  app.addHook('onRequest', auth.hook);
  app.setErrorHandler((error: { statusCode?: number; message: string }, request, reply) => {
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) return reply.code(status).send({ error: error.message });
    request.log.error({ err: error }, opts.failureLog);
    return reply.code(500).send({ error: 'internal error' });
  });
  return (request) => `api-key:${auth.principalOf(request)?.prefix ?? 'unknown'}`;
}
