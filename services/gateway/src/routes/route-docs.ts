/**
 * OpenAPI description of a route, generated from the zod schemas its handler validates with, so
 * the document at `/docs` cannot drift from what the API accepts.
 *
 * Spread the result into the route options: `app.post('/v1/x', { ...describeRoute({...}) }, h)`.
 * Fastify would validate `schema.body` (and serialise `schema.response`) with its own compilers;
 * the handlers already validate with zod and answer every issue at once in our
 * `{ error, issues }` shape, and a response schema would let fast-json-stringify drop fields it
 * does not list. So each described route carries pass-through compilers: the schemas are
 * documentation, zod stays the one validator.
 */
import type { FastifySchema, RouteShorthandOptions } from 'fastify';
import { z } from 'zod';

export type RouteSecurity = 'api' | 'none';

export interface RouteDoc {
  /** Groups the route in the docs UI: `Calls`, `Campaigns`, `Agents`. */
  tags: readonly string[];
  summary: string;
  description?: string;
  body?: z.ZodType;
  querystring?: z.ZodType;
  params?: z.ZodType;
  /** Status code → the zod schema of the body, or a description alone (204, 404…). */
  response?: Record<number, z.ZodType | { description: string }>;
  /** `api` (the default): an API key or a signed-in session. `none`: public. */
  security?: RouteSecurity;
  /** Leaves the route out of the document (webhooks Twilio and OpenAI call). */
  hide?: boolean;
}

/** JSON Schema (OpenAPI 3.0 dialect) of what a client sends or receives. */
export function jsonSchemaOf(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const out = z.toJSONSchema(schema, {
    target: 'openapi-3.0',
    io,
    // Transforms and refinements have no JSON Schema; they document as their input type.
    unrepresentable: 'any',
  }) as Record<string, unknown>;
  delete out.$schema;
  return inlineDefinitions(out);
}

/**
 * Replaces the `$ref`s into the schema's own `definitions` by their content. Zod writes a
 * recursive schema (`jsonValueSchema`: any JSON) as a definition referring to itself, and the
 * OpenAPI document has nowhere for a route's private definitions: @fastify/swagger would point
 * the refs at `#/components/schemas/…`, which do not exist. The recursion itself becomes `{}`
 * (any value), which is what a nested JSON value is.
 */
function inlineDefinitions(schema: Record<string, unknown>): Record<string, unknown> {
  const defs = (schema.definitions ?? schema.$defs) as Record<string, unknown> | undefined;
  if (defs === undefined) return schema;
  const { definitions: _d, $defs: _s, ...rest } = schema;
  const resolve = (node: unknown, seen: ReadonlySet<string>): unknown => {
    if (Array.isArray(node)) return node.map((n) => resolve(n, seen));
    if (node === null || typeof node !== 'object') return node;
    const { $ref, ...fields } = node as Record<string, unknown>;
    const name =
      typeof $ref === 'string' ? /^#\/(?:definitions|\$defs)\/(.+)$/.exec($ref)?.[1] : undefined;
    const resolved = Object.fromEntries(
      Object.entries(fields).map(([k, v]) => [k, resolve(v, seen)]),
    );
    if (name === undefined) return $ref === undefined ? resolved : { $ref, ...resolved };
    if (seen.has(name) || !(name in defs)) return resolved;
    return { ...(resolve(defs[name], new Set([...seen, name])) as object), ...resolved };
  };
  return resolve(rest, new Set()) as Record<string, unknown>;
}

const passThroughValidator = () => (data: unknown) => ({ value: data });
const plainSerializer = () => (data: unknown) => JSON.stringify(data);

/** Route options carrying the OpenAPI schema of a route and pass-through compilers. */
export function describeRoute(doc: RouteDoc): Pick<
  RouteShorthandOptions,
  'schema' | 'validatorCompiler' | 'serializerCompiler'
> & {
  schema: FastifySchema;
} {
  const response: Record<string, unknown> = {};
  for (const [status, body] of Object.entries(doc.response ?? {})) {
    response[status] =
      body instanceof z.ZodType
        ? { description: `${status}`, ...jsonSchemaOf(body, 'output') }
        : { description: body.description };
  }
  const schema: FastifySchema & Record<string, unknown> = {
    tags: [...doc.tags],
    summary: doc.summary,
    ...(doc.description ? { description: doc.description } : {}),
    ...(doc.body ? { body: jsonSchemaOf(doc.body, 'input') } : {}),
    ...(doc.querystring ? { querystring: jsonSchemaOf(doc.querystring, 'input') } : {}),
    ...(doc.params ? { params: jsonSchemaOf(doc.params, 'input') } : {}),
    ...(Object.keys(response).length > 0 ? { response } : {}),
    ...((doc.security ?? 'api') === 'api'
      ? { security: [{ bearerAuth: [] }, { sessionCookie: [] }] }
      : { security: [] }),
    ...(doc.hide ? { hide: true } : {}),
  };
  return {
    schema,
    validatorCompiler: passThroughValidator,
    serializerCompiler: plainSerializer,
  };
}
