/**
 * `@app/tools`: the tools an agent may use, as the model sees them (shared by the call-bridge,
 * which sends them in the session config, and the tool-runner, which runs them).
 */

export {
  resolveAgentTools,
  toolSpecsForAgent,
  type AgentTool,
  type ResolvedAgentTools,
} from './agent-tools.js';
export {
  BUILTIN_TOOLS,
  BuiltinToolName,
  isBuiltinToolName,
  type BuiltinToolDefinition,
} from './builtin-tools.js';
export {
  HTTP_TOOL_LIMITS,
  httpToolDefinitionSchema,
  httpToolSpec,
  IDEMPOTENT_METHODS,
  loadHttpTools,
  parseHttpTool,
  type HttpToolDefinition,
  type HttpToolsDb,
  type ParsedHttpTool,
} from './http-tools.js';
export {
  parametersSchema,
  TOOL_NAME_PATTERN,
  toolNameSchema,
  type ToolParameters,
  type ToolSpec,
} from './tool-spec.js';
