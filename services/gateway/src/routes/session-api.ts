/**
 * `/v1/session`: the dashboard's sign-in. Needs the root `sessionAuthPlugin` (cookies, session
 * lookup) registered before it.
 *
 * - `POST /v1/session` `{ email, password }`: 200 `{ user, csrfToken }` and the session cookie;
 *   401 `wrong email or password` for an unknown email, a wrong password or a disabled user
 *   alike (the logs tell them apart); 400 for a malformed body; 403 from another origin (a page
 *   elsewhere must not sign a browser in to an account of its choosing).
 * - `GET /v1/session`: the same body, or 401: how the dashboard learns who is signed in and
 *   gets the CSRF token after a reload.
 * - `DELETE /v1/session`: signs out (revokes the session, clears the cookie), 204; needs
 *   `X-CSRF-Token` like every write.
 *
 * Answers carry `Cache-Control: no-store`: the CSRF token must not sit in a shared cache.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';

import type { ActiveSession, SessionStore } from '../adapters/sessions.js';
import { MAX_EMAIL_LENGTH, type UserStore } from '../adapters/users.js';
import { MAX_PASSWORD_LENGTH } from '../domain/passwords.js';
import { errorSchema, invalidSchema, issuesOf, roleSchema } from './auth-api-common.js';
import { describeRoute } from './route-docs.js';
import {
  clearSessionCookie,
  foreignOriginRefusal,
  sessionWriteRefusal,
  setSessionCookie,
  signedInSession,
  type SessionCookieSettings,
} from './session-auth.js';

export interface SessionApiOptions {
  users: UserStore;
  sessions: SessionStore;
  cookie: SessionCookieSettings;
}

const BODY_LIMIT = 8 * 1024;
const TAGS = ['Session'];

const signInSchema = z.strictObject({
  email: z.string().trim().min(1, 'email is required').max(MAX_EMAIL_LENGTH),
  password: z.string().min(1, 'password is required').max(MAX_PASSWORD_LENGTH),
});

const sessionSchema = z.object({
  user: z.object({ id: z.uuid(), email: z.string(), name: z.string(), role: roleSchema }),
  csrfToken: z.string().describe('send it as X-CSRF-Token on every write'),
});

function sessionView(session: ActiveSession): z.output<typeof sessionSchema> {
  const { id, email, name, role } = session.user;
  return { user: { id, email, name, role }, csrfToken: session.csrfToken };
}

const notSignedIn = (reply: FastifyReply) => reply.code(401).send({ error: 'not signed in' });

export async function sessionApiRoutes(
  app: FastifyInstance,
  opts: SessionApiOptions,
): Promise<void> {
  app.addHook('onSend', async (_request, reply) => {
    void reply.header('cache-control', 'no-store');
  });
  app.setErrorHandler((error: { statusCode?: number; message: string }, request, reply) => {
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) return reply.code(status).send({ error: error.message });
    request.log.error({ err: error }, 'session request failed');
    return reply.code(500).send({ error: 'internal error' });
  });

  app.post(
    '/v1/session',
    {
      bodyLimit: BODY_LIMIT,
      ...describeRoute({
        tags: TAGS,
        summary: 'Sign in',
        description:
          'Sets the HttpOnly session cookie. Send the returned `csrfToken` as `X-CSRF-Token` ' +
          'on every write made with the session.',
        body: signInSchema,
        response: { 200: sessionSchema, 400: invalidSchema, 401: errorSchema, 403: errorSchema },
        security: 'none',
      }),
    },
    async (request, reply) => {
      const foreign = foreignOriginRefusal(request);
      if (foreign !== null) return reply.code(403).send({ error: foreign });
      const parsed = signInSchema.safeParse(request.body);
      if (!parsed.success) {
        return reply.code(400).send({ error: 'invalid sign-in', issues: issuesOf(parsed.error) });
      }
      const check = await opts.users.verifyCredentials(parsed.data.email, parsed.data.password);
      if (check.status !== 'valid') {
        request.log.info(
          {
            reason: check.status,
            ...(check.status === 'disabled' ? { userId: check.userId } : {}),
          },
          'sign-in refused',
        );
        return reply.code(401).send({ error: 'wrong email or password' });
      }
      // A sign-in replaces the browser's previous session rather than leaving it live.
      const previous = await signedInSession(request);
      if (previous.status === 'valid') await opts.sessions.revoke(previous.session.id);
      const { token, session } = await opts.sessions.create(check.user);
      setSessionCookie(reply, token, opts.cookie);
      request.log.info({ userId: check.user.id, sessionId: session.id }, 'signed in');
      return reply.send(sessionView(session));
    },
  );

  app.get(
    '/v1/session',
    {
      ...describeRoute({
        tags: TAGS,
        summary: 'Who is signed in',
        description: 'The signed-in user and the CSRF token of the session cookie sent.',
        response: { 200: sessionSchema, 401: errorSchema },
      }),
    },
    async (request, reply) => {
      const signedIn = await signedInSession(request);
      if (signedIn.status !== 'valid') return notSignedIn(reply);
      return reply.send(sessionView(signedIn.session));
    },
  );

  app.delete(
    '/v1/session',
    {
      ...describeRoute({
        tags: TAGS,
        summary: 'Sign out',
        description: 'Revokes the session and clears its cookie. Needs `X-CSRF-Token`.',
        response: { 204: { description: 'signed out' }, 401: errorSchema, 403: errorSchema },
      }),
    },
    async (request, reply) => {
      const signedIn = await signedInSession(request);
      if (signedIn.status !== 'valid') {
        // The cookie is of no live session: clearing it is all there is to do.
        if (signedIn.status === 'invalid') clearSessionCookie(reply, opts.cookie);
        return notSignedIn(reply);
      }
      const refusal = sessionWriteRefusal(request, signedIn.session);
      if (refusal !== null) return reply.code(403).send({ error: refusal });
      await opts.sessions.revoke(signedIn.session.id);
      clearSessionCookie(reply, opts.cookie);
      request.log.info({ userId: signedIn.session.user.id }, 'signed out');
      return reply.code(204).send();
    },
  );
}
