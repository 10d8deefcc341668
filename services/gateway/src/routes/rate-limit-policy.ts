/**
 * Which rate limit a request counts against, and as whom. Pure functions of the request, run in
 * `onRequest` before authentication, so a flood is turned away before it costs a database read.
 *
 * Policies (per minute, RATE_LIMIT_* in config.ts):
 * - `sign-in` (`POST /v1/session`): strict, per client IP: the password-guessing door.
 * - `webhook` (`/twilio/*`, `/openai/*`): generous, per client IP. Not exempt: they are the only
 *   routes open to anyone, and their signature check happens after the limit. Not an IP
 *   allow-list: neither Twilio nor OpenAI promise fixed source addresses, and a 429 to Twilio
 *   fails a live call, so the limit only stops floods far above any real traffic.
 * - `write` (any other POST, PUT, PATCH, DELETE): per API key or session, else per IP.
 * - `read` (GET, HEAD, and the rest: dashboard files, /docs, SSE): per API key or session, else IP.
 * - none: OPTIONS (CORS preflights carry no credentials and do nothing) and the probes.
 */
import { createHash } from 'node:crypto';

import type { FastifyRequest } from 'fastify';

export type RatePolicy = 'sign-in' | 'webhook' | 'write' | 'read';
export const RATE_POLICIES: readonly RatePolicy[] = ['sign-in', 'webhook', 'write', 'read'];

const WEBHOOK_PATH = /^\/(twilio|openai)(\/|$)/;
const PROBE_PATH = /^\/(healthz|readyz|metrics)$/;
const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** The policy of a request, or null when it is not limited. */
export function ratePolicyOf(method: string, path: string): RatePolicy | null {
  if (method === 'OPTIONS' || PROBE_PATH.test(path)) return null;
  if (method === 'POST' && path === '/v1/session') return 'sign-in';
  if (WEBHOOK_PATH.test(path)) return 'webhook';
  return WRITES.has(method) ? 'write' : 'read';
}

/** The path of a request URL, without its query. */
export function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

/**
 * The client's address. Behind `hops` trusted proxies (TRUSTED_PROXY_HOPS: the ingress, a load
 * balancer), each appended the address it saw to `X-Forwarded-For`; the entry `hops` from the
 * right is the one the outermost trusted proxy saw. Entries further left are the client's word.
 */
export function clientIp(request: FastifyRequest, hops: number): string {
  const socketIp = request.raw.socket.remoteAddress ?? request.ip;
  if (hops === 0) return socketIp;
  const header = request.headers['x-forwarded-for'];
  const forwarded = (Array.isArray(header) ? header.join(',') : (header ?? ''))
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  // Fewer entries than proxies: the leftmost one is still the best we know.
  return forwarded[Math.max(0, forwarded.length - hops)] ?? socketIp;
}

const sha = (value: string) => createHash('sha256').update(value).digest('base64url').slice(0, 22);

/**
 * Who a request counts as: its API key (by the key's hash, never the key), else its session
 * cookie, else its address. Unverified on purpose (authentication comes later): a made-up key
 * only buys a 401, and the sign-in and webhook policies, the anonymous doors, are always per IP.
 */
export function rateSubjectOf(
  request: FastifyRequest,
  policy: RatePolicy,
  opts: { trustedProxyHops: number; sessionCookieNames: readonly string[] },
): string {
  if (policy === 'read' || policy === 'write') {
    const bearer = /^bearer +(\S+)\s*$/i.exec(request.headers.authorization ?? '')?.[1];
    if (bearer !== undefined) return `key:${sha(bearer)}`;
    const cookie = request.headers.cookie ?? '';
    for (const name of opts.sessionCookieNames) {
      const value = new RegExp(`(?:^|;\\s*)${name}=([^;]+)`).exec(cookie)?.[1];
      if (value !== undefined) return `session:${sha(value)}`;
    }
  }
  return `ip:${clientIp(request, opts.trustedProxyHops)}`;
}
