/**
 * Loads an agent's Realtime session settings from PostgreSQL, for one call: the call's own
 * variables (from its `created` event, e.g. a call request's) fill the `{{name}}` placeholders of
 * the instructions and the greeting. Tools are the agent's `toolNames` as the tool registry
 * describes them (`@app/tools`: built-ins from code, HTTP tools from the database), so the model
 * is offered exactly the tools the tool-runner will run for this agent.
 */
import type { PrismaClient } from '@app/db';
import { staleIfError } from '@app/platform';

import { renderInstructions } from '../domain/instructions.js';
import type { AgentSession, FunctionTool } from './openai-realtime.js';

/** The function tools of an agent's tool names (`@app/tools` `toolSpecsForAgent`). */
export type ToolSpecs = (toolNames: string[]) => Promise<FunctionTool[]>;

/** The agent's settings for call `callId`; null when there is no such agent. */
export type LoadAgent = (agentId: string, callId?: string) => Promise<AgentSession | null>;

const isStringRecord = (v: unknown): v is Record<string, string> =>
  typeof v === 'object' &&
  v !== null &&
  !Array.isArray(v) &&
  Object.values(v).every((x) => typeof x === 'string');

export interface AgentSessionLoaderOptions {
  /**
   * Told when the database failed and the agent's last known settings stood in, or the call's
   * variables could not be read (`what`); log it.
   */
  onDatabaseDown?: (what: 'agent' | 'call-variables', err: unknown) => void;
}

/**
 * @param toolSpecs - Absent: the agent is offered no tools, so it never calls one nobody runs.
 *
 * Through a database outage (a failover) a call is still answered: the agent's last known
 * settings and tools (up to an hour old) stand in, and the call's variables, which an inbound
 * call does not have yet anyway, are left empty. The database is asked first every time.
 */
export function agentSessionLoader(
  prisma: PrismaClient,
  toolSpecs?: ToolSpecs,
  opts: AgentSessionLoaderOptions = {},
): LoadAgent {
  const agentSettings = staleIfError(
    async (agentId: string) => {
      const row = await prisma.agent.findUnique({
        where: { id: agentId },
        select: {
          instructions: true,
          voice: true,
          model: true,
          greetFirst: true,
          greeting: true,
          disclosure: true,
          toolNames: true,
        },
      });
      if (!row) return null;
      const { toolNames, ...agent } = row;
      const tools = toolSpecs && toolNames.length > 0 ? await toolSpecs(toolNames) : [];
      return { agent, tools };
    },
    { onStale: (_agentId, err) => opts.onDatabaseDown?.('agent', err) },
  );
  const callVariables = async (callId: string | undefined): Promise<Record<string, string>> => {
    if (!callId) return {};
    try {
      const call = await prisma.call.findUnique({
        where: { id: callId },
        select: { variables: true },
      });
      return isStringRecord(call?.variables) ? call.variables : {};
    } catch (err) {
      opts.onDatabaseDown?.('call-variables', err);
      return {};
    }
  };
  return async (agentId, callId) => {
    const [settings, variables] = await Promise.all([
      agentSettings(agentId),
      callVariables(callId),
    ]);
    if (!settings) return null;
    const { agent, tools } = settings;
    return {
      ...agent,
      instructions: renderInstructions(agent.instructions, variables),
      greeting: agent.greeting === null ? null : renderInstructions(agent.greeting, variables),
      // Said word for word: no placeholders filled, so what the agent says is what was approved.
      disclosure: agent.disclosure,
      tools,
    };
  };
}
