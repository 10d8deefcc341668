/**
 * Test fakes for the customer's side of Twilio: an HTTP server that records the webhooks the
 * simulator sends and answers with TwiML (STYLE.md 6.9: fakes ship with the package).
 */
import { EventEmitter } from 'node:events';

import formbody from '@fastify/formbody';
import Fastify from 'fastify';

/** One request the receiver got. */
export interface ReceivedWebhook {
  method: string;
  /** The full URL as requested (what Twilio signs). */
  url: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  /** POST form fields ({} for GET). */
  params: Record<string, string | string[]>;
  /** Query string fields. */
  query: Record<string, string>;
}

export type WebhookAnswer =
  string | ((req: ReceivedWebhook) => string | { status: number; body: string });

export interface WebhookReceiver {
  /** e.g. `http://127.0.0.1:38211` */
  url: string;
  received: ReceivedWebhook[];
  /** Answers requests to `path` with TwiML (or a status). Unrouted paths get `<Response/>`. */
  on(path: string, answer: WebhookAnswer): void;
  /** Resolves with the first request (already received or future) that matches. */
  waitFor(match: (r: ReceivedWebhook) => boolean, timeoutMs?: number): Promise<ReceivedWebhook>;
  close(): Promise<void>;
}

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const app = Fastify({ forceCloseConnections: true });
  await app.register(formbody);
  const routes = new Map<string, WebhookAnswer>();
  const received: ReceivedWebhook[] = [];
  const events = new EventEmitter();
  let base = '';
  app.all('/*', async (req, reply) => {
    const u = new URL(req.url, base);
    const rec: ReceivedWebhook = {
      method: req.method,
      url: base + req.url,
      path: u.pathname,
      headers: req.headers,
      params: (req.method === 'POST' ? (req.body ?? {}) : {}) as Record<string, string | string[]>,
      query: Object.fromEntries(u.searchParams),
    };
    received.push(rec);
    events.emit('request', rec);
    const answer = routes.get(u.pathname) ?? '<Response/>';
    const out = typeof answer === 'string' ? answer : answer(rec);
    if (typeof out === 'string') return reply.type('text/xml').send(out);
    return reply.code(out.status).type('text/xml').send(out.body);
  });
  base = await app.listen({ port: 0, host: '127.0.0.1' });
  return {
    url: base,
    received,
    on: (path, answer) => routes.set(path, answer),
    waitFor(match, timeoutMs = 4_000) {
      const found = received.find(match);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          events.off('request', listener);
          reject(new Error('webhook not received in time'));
        }, timeoutMs);
        const listener = (r: ReceivedWebhook) => {
          if (!match(r)) return;
          clearTimeout(timer);
          events.off('request', listener);
          resolve(r);
        };
        events.on('request', listener);
      });
    },
    close: () => app.close(),
  };
}
