/**
 * An agent's tools (its `toolNames`) resolved to what the model is offered: built-ins from code,
 * HTTP tools from `http_tools`. Names that resolve to nothing usable are left out and reported,
 * so a typo in an agent's config costs that tool, not the call.
 */
import { BUILTIN_TOOLS, isBuiltinToolName, type BuiltinToolDefinition } from './builtin-tools.js';
import {
  httpToolSpec,
  loadHttpTools,
  type HttpToolDefinition,
  type HttpToolsDb,
} from './http-tools.js';
import { type ToolSpec } from './tool-spec.js';

/** One tool an agent may use, with what running it needs. */
export type AgentTool =
  | { readonly kind: 'builtin'; readonly definition: BuiltinToolDefinition }
  | { readonly kind: 'http'; readonly definition: HttpToolDefinition };

export interface ResolvedAgentTools {
  /** Usable tools, in `toolNames` order, without duplicates. */
  readonly tools: readonly AgentTool[];
  /** Names left out, each with why (`unknown tool`, `disabled`, the row's invalid fields). */
  readonly skipped: ReadonlyArray<{ readonly name: string; readonly reason: string }>;
}

/** Resolves `toolNames` (an agent's list) against the built-ins and the `http_tools` table. */
export async function resolveAgentTools(
  db: HttpToolsDb,
  toolNames: readonly string[],
): Promise<ResolvedAgentTools> {
  const names = [...new Set(toolNames)];
  const http = new Map(
    (
      await loadHttpTools(
        db,
        names.filter((n) => !isBuiltinToolName(n)),
      )
    ).map((p) => [p.ok ? p.tool.name : p.name, p]),
  );
  const tools: AgentTool[] = [];
  const skipped: Array<{ name: string; reason: string }> = [];
  for (const name of names) {
    const builtin = BUILTIN_TOOLS.get(name);
    if (builtin) {
      tools.push({ kind: 'builtin', definition: builtin });
      continue;
    }
    const parsed = http.get(name);
    if (!parsed) skipped.push({ name, reason: 'unknown tool' });
    else if (!parsed.ok) skipped.push({ name, reason: `invalid http tool: ${parsed.reason}` });
    else if (!parsed.tool.enabled) skipped.push({ name, reason: 'disabled' });
    else tools.push({ kind: 'http', definition: parsed.tool });
  }
  return { tools, skipped };
}

/** The session `tools` for an agent's `toolNames`; unusable names are left out. */
export async function toolSpecsForAgent(
  db: HttpToolsDb,
  toolNames: readonly string[],
): Promise<ToolSpec[]> {
  const { tools } = await resolveAgentTools(db, toolNames);
  return tools.map(({ kind, definition }) =>
    kind === 'builtin'
      ? {
          type: 'function',
          name: definition.name,
          description: definition.description,
          parameters: definition.parameters,
        }
      : httpToolSpec(definition),
  );
}
