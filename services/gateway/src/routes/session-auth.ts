/**
 * The dashboard's sign-in cookie, for every route: a root-level plugin (`fastify-plugin`, not
 * encapsulated) that parses cookies and, in `onRequest`, records how to find the request's
 * session. The lookup runs when a route's authentication asks for it (`api-key-auth.ts`,
 * `session-api.ts`), once per request, so static files and webhooks cost no database read.
 *
 * Cookie: `__Host-vp_session` when Secure (the `__Host-` prefix makes the browser refuse it
 * unless Secure, Path=/ and host-only, so a sibling subdomain cannot plant one), `vp_session` on
 * plain-HTTP development. HttpOnly (no script reads it), SameSite=Strict (no cross-site request
 * carries it), Max-Age = the session's lifetime.
 *
 * Writes made with a session also need `X-CSRF-Token` and, when the browser sends `Origin`, an
 * origin of ours ({@link sessionWriteRefusal}): SameSite is the first defence, these the second
 * (browsers without SameSite, a sibling subdomain counting as same-site).
 *
 * Register it before the route plugins: a root hook runs after the `onRequest` hooks of plugins
 * registered before it, so their authentication would run before the session is known.
 */
import { timingSafeEqual } from 'node:crypto';

import fastifyCookie from '@fastify/cookie';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';

import type { ActiveSession, SessionStore } from '../adapters/sessions.js';

export interface SessionCookieSettings {
  /** Secure cookie (HTTPS only), named with the `__Host-` prefix. */
  secure: boolean;
  /** Max-Age of the cookie, in seconds: the session's lifetime. */
  ttlSec: number;
}

export interface SessionAuthOptions {
  sessions: SessionStore;
  cookie: SessionCookieSettings;
  /** `PUBLIC_BASE_URL`: its origin is trusted for writes, besides the request's own Host. */
  publicBaseUrl?: string;
}

/** The cookie's name: browsers only accept the `__Host-` prefix on a Secure cookie. */
export function sessionCookieName(secure: boolean): string {
  return secure ? '__Host-vp_session' : 'vp_session';
}

export function setSessionCookie(
  reply: FastifyReply,
  token: string,
  settings: SessionCookieSettings,
): void {
  void reply.setCookie(sessionCookieName(settings.secure), token, {
    httpOnly: true,
    secure: settings.secure,
    sameSite: 'strict',
    path: '/',
    maxAge: settings.ttlSec,
  });
}

export function clearSessionCookie(reply: FastifyReply, settings: SessionCookieSettings): void {
  void reply.clearCookie(sessionCookieName(settings.secure), {
    httpOnly: true,
    secure: settings.secure,
    sameSite: 'strict',
    path: '/',
  });
}

/** What a request's cookie says: no cookie, a cookie of no live session, or a live session. */
export type SessionLookup =
  { status: 'none' } | { status: 'invalid' } | { status: 'valid'; session: ActiveSession };

interface RequestSession {
  lookup: () => Promise<SessionLookup>;
  trustedOrigins: ReadonlySet<string>;
}

/** Per request, only as long as the request lives. */
const requestSessions = new WeakMap<FastifyRequest, RequestSession>();

const NONE: SessionLookup = { status: 'none' };

/** The request's session, looked up once; `none` when the plugin is not registered. */
export function signedInSession(request: FastifyRequest): Promise<SessionLookup> {
  return requestSessions.get(request)?.lookup() ?? Promise.resolve(NONE);
}

/** RFC 9110 §9.2.1: the methods that only read. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

const sameSecret = (a: string, b: string) => {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
};

/**
 * Why a write made with a session is refused (for a 403), or null when it may go on: a safe
 * method always may; an unsafe one needs an `Origin` of ours when one is sent, and the
 * session's CSRF token in `X-CSRF-Token`.
 */
export function sessionWriteRefusal(
  request: FastifyRequest,
  session: ActiveSession,
): string | null {
  if (SAFE_METHODS.has(request.method)) return null;
  const foreign = foreignOriginRefusal(request);
  if (foreign !== null) return foreign;
  const token = request.headers['x-csrf-token'];
  if (typeof token !== 'string' || !sameSecret(token, session.csrfToken)) {
    return 'missing or wrong CSRF token';
  }
  return null;
}

/** Why a request is refused for its `Origin` (another site's page sent it), or null. */
export function foreignOriginRefusal(request: FastifyRequest): string | null {
  const origin = request.headers.origin;
  if (origin === undefined || isOwnOrigin(request, origin)) return null;
  return 'request from another origin refused';
}

/**
 * Whether `Origin` is this server: the Host the request was sent to (scheme aside: TLS often ends
 * at a proxy, so the socket's scheme is not the browser's), or `PUBLIC_BASE_URL`'s origin.
 */
function isOwnOrigin(request: FastifyRequest, origin: string): boolean {
  if (requestSessions.get(request)?.trustedOrigins.has(origin)) return true;
  const host = request.headers.host;
  if (host === undefined) return false;
  try {
    const url = new URL(origin);
    // The Host read with the Origin's scheme, so a default port (`:443`) compares equal.
    return url.host === new URL(`${url.protocol}//${host}`).host;
  } catch {
    return false; // `null` (a sandboxed or privacy-sensitive context) and junk
  }
}

async function sessionAuth(app: FastifyInstance, opts: SessionAuthOptions): Promise<void> {
  // Another plugin may have registered the cookie parser already; a second would throw.
  if (!app.hasRequestDecorator('cookies')) await app.register(fastifyCookie);
  const name = sessionCookieName(opts.cookie.secure);
  const trustedOrigins = new Set(
    opts.publicBaseUrl === undefined ? [] : [new URL(opts.publicBaseUrl).origin],
  );
  app.addHook('onRequest', async (request) => {
    const token = request.cookies[name];
    let found: Promise<SessionLookup> | undefined;
    requestSessions.set(request, {
      trustedOrigins,
      lookup: () =>
        (found ??=
          token === undefined || token === ''
            ? Promise.resolve(NONE)
            : opts.sessions
                .authenticate(token)
                .then((session) =>
                  session === null ? { status: 'invalid' as const } : { status: 'valid', session },
                )),
    });
  });
}

/** Root-level (not encapsulated): its hook runs for every route. */
export const sessionAuthPlugin = fp(sessionAuth, { name: 'session-auth', fastify: '5.x' });
