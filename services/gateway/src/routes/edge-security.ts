/**
 * The gateway's HTTP edge, for every route: rate limits shared across replicas
 * (@fastify/rate-limit on NATS KV, policies in rate-limit-policy.ts), body size limits, security
 * headers (@fastify/helmet, a strict Content-Security-Policy) and CORS closed unless configured.
 *
 * A root-level plugin (`fastify-plugin`): register it before every route plugin, /docs
 * included. Its `onRoute` hook only sees routes added after it, and a root hook runs after the
 * `onRequest` hooks of plugins registered before it (see session-auth.ts).
 *
 * - 429 `{ error }` with `Retry-After` (seconds) and `X-RateLimit-*`, before authentication.
 *   If the shared counters cannot be reached (NATS down), requests pass and a warning is
 *   logged: the limits guard against floods, they must not take the API down with NATS.
 * - 413 `{ error }` when `Content-Length` exceeds the route's limit, before the body is read.
 *   Routes set their own small limits (sign-in 8 KiB, OpenAI webhook 64 KiB, …); Twilio's get
 *   {@link WEBHOOK_BODY_LIMIT}, any other {@link EdgeSecurityOptions.bodyLimitBytes}.
 * - CSP: only this origin's scripts, styles, images, fonts and connections; no inline script or
 *   style element, no framing, no plugins. The dashboard (Vite: one module script, one
 *   stylesheet) needs nothing else. /docs (Swagger UI) also gets inline styles, which it sets.
 */
import cors from '@fastify/cors';
import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';

import { kvRateLimitStore, type KvRateCounter } from '../adapters/kv-rate-limit-store.js';
import { DOCS_PREFIX } from './api-docs.js';
import {
  pathOf,
  RATE_POLICIES,
  ratePolicyOf,
  rateSubjectOf,
  type RatePolicy,
} from './rate-limit-policy.js';
import { sessionCookieName } from './session-auth.js';

/** Twilio's form posts are a few KiB; 64 KiB leaves room and refuses anything else. */
export const WEBHOOK_BODY_LIMIT = 64 * 1024;

export interface EdgeSecurityOptions {
  /** The shared counters (names.kv.gatewayRateLimits). */
  counter: KvRateCounter;
  /** Requests per window of each policy. */
  limits: Readonly<Record<RatePolicy, number>>;
  /** The window, in ms; at most the bucket's TTL. @defaultValue counter.maxWindowMs */
  windowMs?: number;
  /** TRUSTED_PROXY_HOPS: proxies appending to X-Forwarded-For. @defaultValue 0 */
  trustedProxyHops?: number;
  /** Body limit of routes that set none. @defaultValue 1 MiB */
  bodyLimitBytes?: number;
  /** Origins allowed by CORS; empty: none. @defaultValue [] */
  corsOrigins?: readonly string[];
}

const SELF = ["'self'"];

/** The strict policy of every page, the dashboard's included. */
export const STRICT_CSP_DIRECTIVES = {
  defaultSrc: SELF,
  scriptSrc: SELF,
  scriptSrcAttr: ["'none'"],
  styleSrc: SELF,
  imgSrc: [...SELF, 'data:'],
  fontSrc: SELF,
  connectSrc: SELF,
  objectSrc: ["'none'"],
  baseUri: ["'none'"],
  formAction: SELF,
  frameAncestors: ["'none'"],
};

/** Swagger UI sets inline styles (its layout, highlighted code); nothing else changes. */
export const DOCS_CSP_DIRECTIVES = {
  ...STRICT_CSP_DIRECTIVES,
  styleSrc: [...SELF, "'unsafe-inline'"],
};

const isDocsRoute = (url: string) => url === DOCS_PREFIX || url.startsWith(`${DOCS_PREFIX}/`);
const WEBHOOK_ROUTE = /^\/(twilio|openai)\//;

async function edgeSecurity(app: FastifyInstance, opts: EdgeSecurityOptions): Promise<void> {
  const windowMs = opts.windowMs ?? opts.counter.maxWindowMs;
  const hops = opts.trustedProxyHops ?? 0;
  const bodyLimit = opts.bodyLimitBytes ?? 1024 * 1024;
  const cookieNames = [sessionCookieName(true), sessionCookieName(false)];

  // CORS: the API authenticates with a bearer header, so no credentials mode is ever needed.
  await app.register(cors, {
    origin: [...(opts.corsOrigins ?? [])],
    credentials: false,
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
  });

  await app.register(helmet, {
    contentSecurityPolicy: { useDefaults: false, directives: STRICT_CSP_DIRECTIVES },
  });

  app.addHook('onRoute', (route) => {
    if (route.bodyLimit === undefined) {
      route.bodyLimit = WEBHOOK_ROUTE.test(route.url) ? WEBHOOK_BODY_LIMIT : bodyLimit;
    }
    if (isDocsRoute(route.url)) {
      route.config = {
        ...route.config,
        helmet: { contentSecurityPolicy: { useDefaults: false, directives: DOCS_CSP_DIRECTIVES } },
      } as typeof route.config;
    }
  });

  app.addHook('onRequest', async (request, reply) => {
    const length = Number(request.headers['content-length'] ?? 0);
    const limit = request.routeOptions.bodyLimit ?? bodyLimit;
    if (Number.isFinite(length) && length > limit) {
      return reply
        .code(413)
        .send({ error: `request body too large: ${length} bytes, at most ${limit} here` });
    }
    return undefined;
  });

  await app.register(rateLimit, { global: false, store: kvRateLimitStore(opts.counter) });
  const limiters = new Map(
    RATE_POLICIES.map((policy) => [
      policy,
      app.createRateLimit({
        max: opts.limits[policy],
        timeWindow: windowMs,
        keyGenerator: (request) =>
          `${policy}|${rateSubjectOf(request, policy, { trustedProxyHops: hops, sessionCookieNames: cookieNames })}`,
      }),
    ]),
  );

  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    const policy = ratePolicyOf(request.method, pathOf(request.url));
    if (policy === null) return undefined;
    const limiter = limiters.get(policy);
    if (limiter === undefined) return undefined;
    let result: Awaited<ReturnType<typeof limiter>>;
    try {
      result = await limiter(request);
    } catch (err) {
      request.log.warn({ err, policy }, 'rate limit not checked: counters unreachable');
      return undefined;
    }
    if (result.isAllowed) return undefined;
    void reply.header('x-ratelimit-limit', result.max);
    void reply.header('x-ratelimit-remaining', result.remaining);
    void reply.header('x-ratelimit-reset', result.ttlInSeconds);
    if (!result.isExceeded) return undefined;
    request.log.warn({ policy, limit: result.max }, 'rate limit exceeded');
    return reply
      .code(429)
      .header('retry-after', result.ttlInSeconds)
      .send({
        error: `too many requests: at most ${result.max} ${policy} requests per ${windowMs / 1000} s; retry in ${result.ttlInSeconds} s`,
      });
  });
}

export const edgeSecurityPlugin = fp(edgeSecurity, { name: 'edge-security', fastify: '5.x' });
