/**
 * Authentication shared by the REST routes (`/v1/calls`, `/v1/campaigns`, …): an `onRequest`
 * hook, so an anonymous client never makes us read a body. A request is made by an API key
 * (machines) or by a signed-in user (the dashboard's session cookie, `session-auth.ts`).
 *
 * - An `Authorization` header decides: it is checked as an API key and the cookie is ignored.
 * - No key, another scheme, and no session: 401 with `WWW-Authenticate: Bearer` (RFC 6750 §3).
 * - An unknown or a revoked key: 401 `invalid_token`. A cookie of no live session: 401.
 * - A session's write without its CSRF token, or from another origin: 403.
 * - A role that may not do what the request does: 403 (`insufficient_scope` for keys).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

import type { ApiKeyRole } from '@app/db';

import { API_KEY_ROLES, type ApiKeyStore } from '../adapters/api-keys.js';
import type { ActiveSession } from '../adapters/sessions.js';
import { sessionWriteRefusal, signedInSession } from './session-auth.js';

/** Who made a request: an API key or a signed-in user. */
export interface Principal {
  kind: 'api-key' | 'user';
  /** The key's or the user's id. */
  id: string;
  /** The key's name or the user's name. */
  name: string;
  role: ApiKeyRole;
  /** Who acted, for `audit_logs.actor`: `api-key:<prefix>` or `user:<id>`. */
  actor: string;
  /** First characters of the key (API keys only): safe to log. */
  prefix?: string;
}

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
  principalOf: (request: FastifyRequest) => Principal | undefined;
} {
  const principals = new WeakMap<FastifyRequest, Principal>();

  /** A signed-in user's request: the session's own checks, then the same roles as keys. */
  const bySession = async (
    request: FastifyRequest,
    reply: FastifyReply,
    session: ActiveSession,
  ) => {
    const { user } = session;
    const refusal = sessionWriteRefusal(request, session);
    if (refusal !== null) {
      request.log.warn({ userId: user.id, reason: refusal }, 'session write refused');
      return reply.code(403).send({ error: refusal });
    }
    const allowed = opts.rolesFor(request);
    if (!allowed.includes(user.role)) {
      request.log.warn({ userId: user.id, role: user.role }, 'user role refused');
      return reply.code(403).send({
        error: `role ${user.role} may not ${opts.actionFor(request)} (${allowed.join(' or ')} may)`,
      });
    }
    principals.set(request, {
      kind: 'user',
      id: user.id,
      name: user.name,
      role: user.role,
      actor: `user:${user.id}`,
    });
    return undefined;
  };

  const hook = async (request: FastifyRequest, reply: FastifyReply) => {
    const header = request.headers.authorization;
    if (header === undefined) {
      const signedIn = await signedInSession(request);
      if (signedIn.status === 'valid') return bySession(request, reply, signedIn.session);
      if (signedIn.status === 'invalid') {
        return reply
          .code(401)
          .header('www-authenticate', challenge())
          .send({ error: 'session expired or signed out: sign in again' });
      }
    }
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
    principals.set(request, {
      kind: 'api-key',
      id: check.key.id,
      name: check.key.name,
      role: check.key.role,
      actor: `api-key:${check.key.prefix}`,
      prefix: check.key.prefix,
    });
    return undefined;
  };
  return { hook, principalOf: (request) => principals.get(request) };
}

const READS = new Set(['GET', 'HEAD']);

/** Any role reads (GET, HEAD), writers do the rest: the rule of the admin resources. */
export const readersReadWritersWrite = (request: FastifyRequest): readonly ApiKeyRole[] =>
  READS.has(request.method) ? API_KEY_ROLES : WRITER_ROLES;

/**
 * The set-up every admin resource plugin shares (`/v1/campaigns`, `/v1/human-agents`,
 * `/v1/http-tools`): by default any role reads, writers write, checked in `onRequest`; a 4xx
 * thrown by fastify (bad JSON, body too large) answers `{ error }`, anything else is logged and
 * answers 500. Returns the audit actor of a request (`api-key:<prefix>` or `user:<id>`).
 */
export function adminResourceAuth(
  app: FastifyInstance,
  opts: {
    apiKeys: ApiKeyStore;
    /** What a write does, for the 403 message (`change campaigns`). */
    actionFor: (request: FastifyRequest) => string;
    /** The log message of an unexpected failure (`campaign request failed`). */
    failureLog: string;
    /** Roles allowed per request. @defaultValue {@link readersReadWritersWrite} */
    rolesFor?: (request: FastifyRequest) => readonly ApiKeyRole[];
  },
): (request: FastifyRequest) => string {
  const auth = apiKeyAuth({
    apiKeys: opts.apiKeys,
    rolesFor: opts.rolesFor ?? readersReadWritersWrite,
    actionFor: opts.actionFor,
  });
  app.addHook('onRequest', auth.hook);
  app.setErrorHandler((error: { statusCode?: number; message: string }, request, reply) => {
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) return reply.code(status).send({ error: error.message });
    request.log.error({ err: error }, opts.failureLog);
    return reply.code(500).send({ error: 'internal error' });
  });
  return (request) => auth.principalOf(request)?.actor ?? 'api-key:unknown';
}
