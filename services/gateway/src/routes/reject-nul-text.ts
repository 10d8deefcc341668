/**
 * Refuses, with a 400 that says why, any request whose body, query or path parameters hold a
 * NUL character (U+0000). PostgreSQL text cannot store one: left alone it reaches the database
 * and comes back as a 500 from whichever route received it. One root-level hook (`fastify-plugin`)
 * covers every route, so no text field can be forgotten.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';

/** Where in the request the first NUL was found (`body.name`, `query.q`), or null. */
export function findNulText(value: unknown, path: string, depth = 0): string | null {
  if (typeof value === 'string') return value.includes('\u0000') ? path : null;
  // Parsed JSON is acyclic, but a hand-built value might not be: stop well before the stack does.
  if (value === null || typeof value !== 'object' || depth > 64) return null;
  if (Buffer.isBuffer(value)) return null;
  for (const [key, inner] of Object.entries(value)) {
    if (key.includes('\u0000')) return `${path}[key]`;
    const found = findNulText(inner, `${path}.${key}`, depth + 1);
    if (found !== null) return found;
  }
  return null;
}

async function rejectNulText(
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<FastifyReply | undefined> {
  const where =
    findNulText(request.params, 'params') ??
    findNulText(request.query, 'query') ??
    findNulText(request.body, 'body');
  if (where === null) return undefined;
  return reply.code(400).send({
    error: 'invalid text',
    issues: [
      {
        field: where,
        code: 'nul_character',
        message: `${where} contains a NUL character (U+0000), which text may not hold`,
      },
    ],
  });
}

export const rejectNulTextPlugin = fp(
  (app: FastifyInstance, _opts: unknown, done: (err?: Error) => void) => {
    app.addHook('preValidation', rejectNulText);
    done();
  },
  { name: 'reject-nul-text' },
);
