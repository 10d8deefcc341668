/**
 * The API's OpenAPI 3.0 document at `/docs/json` and Swagger UI at `/docs`, generated from the
 * routes' own schemas (`describeRoute` in route-docs.ts), so the docs follow the code.
 *
 * Register it before any route: @fastify/swagger collects routes with an `onRoute` hook, and a
 * route added before it is never seen. Only described routes appear (`hideUntagged`): the Twilio
 * and OpenAI webhooks, `/health` and `/metrics` are for machines we do not document here, and
 * they carry no `describeRoute`.
 */
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';

import { sessionCookieName } from './session-auth.js';

export interface ApiDocsOptions {
  /** The gateway's version (package.json), the document's `info.version`. */
  version: string;
  /**
   * Whether the session cookie is Secure (config `sessionCookieSecure`), which names it
   * `__Host-vp_session`; else `vp_session`. @defaultValue true
   */
  secureCookie?: boolean;
}

export const DOCS_PREFIX = '/docs';

export async function registerApiDocs(app: FastifyInstance, opts: ApiDocsOptions): Promise<void> {
  const cookie = sessionCookieName(opts.secureCookie ?? true);
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Voice platform API',
        version: opts.version,
        description:
          'Admin API of the voice platform: calls, campaigns, agents, numbers, tools, human ' +
          'agents, reports and live events. Authenticate with an API key ' +
          '(`Authorization: Bearer <key>`; roles admin, operator, viewer: any role reads, ' +
          'admin and operator write) or, from the dashboard, the session cookie set by ' +
          '`POST /v1/session` (writes then need the `X-CSRF-Token` header). Refusals answer ' +
          '`{ error, issues? }`.',
      },
      components: {
        securitySchemes: {
          bearerAuth: {
            type: 'http',
            scheme: 'bearer',
            description: 'An API key (`api-key:create`), shown once when created',
          },
          sessionCookie: {
            type: 'apiKey',
            in: 'cookie',
            name: cookie,
            description: 'The dashboard sign-in (`POST /v1/session`)',
          },
        },
      },
    },
    hideUntagged: true,
  });
  await app.register(swaggerUi, { routePrefix: DOCS_PREFIX });
}
