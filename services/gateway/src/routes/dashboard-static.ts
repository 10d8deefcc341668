/**
 * The dashboard (packages/dashboard, built by Vite) at `/`: its hashed assets with a year-long
 * immutable cache, and index.html — never cached, so a deploy is seen at once — for `/` and for
 * any other page path a browser asks for (the dashboard routes in the browser: SPA fallback).
 *
 * - API and infrastructure paths (`/v1/*`, `/docs*`, `/twilio/*`, `/openai/*`, `/metrics`,
 *   `/healthz`, `/readyz`) are never the dashboard: an unknown one stays a JSON 404.
 * - Only requests that accept HTML get index.html; a script asking for a missing file gets 404.
 * - Files are looked up per request, so a dashboard built after the gateway started is served;
 *   until it is built, `/` answers a short text saying how to build it (the gateway runs fine
 *   without it).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

export interface DashboardStaticOptions {
  /** The built dashboard: a folder with index.html and assets/. @defaultValue {@link defaultDashboardDir} */
  dir?: string | undefined;
}

/** Where `pnpm --filter @app/dashboard build` writes, from this file (src/ or dist/ alike). */
export function defaultDashboardDir(): string {
  return fileURLToPath(new URL('../../../../packages/dashboard/dist', import.meta.url));
}

const NOT_DASHBOARD = /^\/(v1|docs|twilio|openai)(\/|$)|^\/(metrics|healthz|readyz)$/;
const IMMUTABLE = 'public, max-age=31536000, immutable';
export const NOT_BUILT_MESSAGE =
  'The dashboard is not built. Run `pnpm --filter @app/dashboard build` (or `pnpm build`); ' +
  'the gateway serves it at / as soon as it exists.\n';

export async function dashboardStaticRoutes(
  app: FastifyInstance,
  opts: DashboardStaticOptions,
): Promise<void> {
  const dir = opts.dir ?? defaultDashboardDir();
  // Only `reply.sendFile`: the routes below decide what is served (no directory listing, no
  // wildcard route of the plugin's own to shadow the API's 404s).
  await app.register(fastifyStatic, { root: dir, serve: false });

  const sendIndex = (reply: FastifyReply) => {
    if (!existsSync(join(dir, 'index.html'))) {
      return reply.code(503).type('text/plain; charset=utf-8').send(NOT_BUILT_MESSAGE);
    }
    return reply
      .header('cache-control', 'no-cache')
      .type('text/html; charset=utf-8')
      .sendFile('index.html', { cacheControl: false });
  };

  const handler = (request: FastifyRequest, reply: FastifyReply) => {
    // Still percent-encoded: `sendFile` decodes it itself (and refuses `..`).
    const path = new URL(request.url, 'http://localhost').pathname;
    if (NOT_DASHBOARD.test(path)) return reply.callNotFound();
    if (path.startsWith('/assets/')) {
      // Vite puts a content hash in every asset's name: a changed file gets a new name.
      return reply
        .header('cache-control', IMMUTABLE)
        .sendFile(path.slice(1), { cacheControl: false });
    }
    if (path === '/' || path === '/index.html') return sendIndex(reply);
    // Another file at the top of dist (none today): by name, short-cached.
    if (/\.[a-z0-9]+$/i.test(path)) {
      return reply.header('cache-control', 'no-cache').sendFile(path.slice(1), {
        cacheControl: false,
      });
    }
    const accept = request.headers.accept ?? '';
    if (accept.includes('text/html')) return sendIndex(reply);
    return reply.callNotFound();
  };
  app.get('/', handler);
  app.get('/*', handler);
}
