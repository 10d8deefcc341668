/**
 * HTTP tools (`http_tools` rows): parsed with zod into a definition both sides can trust. A row
 * that fails (an edited-by-hand `parameters`, a built-in's name, a bad URL) is not offered to
 * the model nor run; the reason says which field.
 */
import { z } from 'zod';

import { type HttpTool, type PrismaClient } from '@app/db';

import { isBuiltinToolName } from './builtin-tools.js';
import { parametersSchema, toolNameSchema, type ToolSpec } from './tool-spec.js';

/** Methods that may be repeated without a second effect (RFC 9110 §9.2.2). */
export const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set(['GET', 'PUT', 'DELETE']);

/** Upper bounds, so one row cannot make the runner wait or buffer without limit. */
export const HTTP_TOOL_LIMITS = {
  maxTimeoutMs: 60_000,
  maxRetries: 5,
  maxResponseBytes: 1024 * 1024,
} as const;

export const httpToolDefinitionSchema = z.object({
  name: toolNameSchema.refine((n) => !isBuiltinToolName(n), 'is the name of a built-in tool'),
  description: z.string().min(1).max(1_024),
  parameters: parametersSchema,
  url: z
    .string()
    .url()
    // zod runs this refine even when `.url()` failed: `new URL` must not throw out of safeParse.
    .refine(
      (u) => URL.canParse(u) && /^https?:$/.test(new URL(u).protocol),
      'must be http or https',
    ),
  method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']),
  headers: z.record(z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/), z.string()),
  signingSecret: z.string().min(1).nullable(),
  timeoutMs: z.number().int().positive().max(HTTP_TOOL_LIMITS.maxTimeoutMs),
  maxRetries: z.number().int().min(0).max(HTTP_TOOL_LIMITS.maxRetries),
  retryNonIdempotent: z.boolean(),
  maxResponseBytes: z.number().int().positive().max(HTTP_TOOL_LIMITS.maxResponseBytes),
  enabled: z.boolean(),
});

export type HttpToolDefinition = z.output<typeof httpToolDefinitionSchema>;

export type ParsedHttpTool =
  | { readonly ok: true; readonly tool: HttpToolDefinition }
  | { readonly ok: false; readonly name: string; readonly reason: string };

/** Parses one `http_tools` row; the reason names the fields (never the secret or headers). */
export function parseHttpTool(row: HttpTool): ParsedHttpTool {
  const result = httpToolDefinitionSchema.safeParse(row);
  if (result.success) return { ok: true, tool: result.data };
  const reason = result.error.issues
    .map((i) => `${i.path.join('.') || '(row)'}: ${i.message}`)
    .join('; ');
  return { ok: false, name: row.name, reason };
}

/** The spec the model sees for an HTTP tool. */
export function httpToolSpec(tool: HttpToolDefinition): ToolSpec {
  return {
    type: 'function',
    name: tool.name,
    description: tool.description,
    parameters: tool.parameters,
  };
}

/** What reading HTTP tools needs from the database. */
export type HttpToolsDb = Pick<PrismaClient, 'httpTool'>;

/** The rows named `names` (any subset may be missing), parsed. */
export async function loadHttpTools(
  db: HttpToolsDb,
  names: readonly string[],
): Promise<ParsedHttpTool[]> {
  if (names.length === 0) return [];
  const rows = await db.httpTool.findMany({ where: { name: { in: [...names] } } });
  return rows.map(parseHttpTool);
}
