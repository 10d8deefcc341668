/**
 * Loads an agent's Realtime session settings from PostgreSQL, for one call: the call's own
 * variables (from its `created` event, e.g. a call request's) fill the `{{name}}` placeholders of
 * the instructions and the greeting. Tools are the agent's `toolNames` as the tool registry
 * describes them (`@app/tools`: built-ins from code, HTTP tools from the database), so the model
 * is offered exactly the tools the tool-runner will run for this agent.
 */
import type { PrismaClient } from '@app/db';

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

/** @param toolSpecs - Absent: the agent is offered no tools, so it never calls one nobody runs. */
export function agentSessionLoader(prisma: PrismaClient, toolSpecs?: ToolSpecs): LoadAgent {
  return async (agentId, callId) => {
    const [row, call] = await Promise.all([
      prisma.agent.findUnique({
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
      }),
      callId
        ? prisma.call.findUnique({ where: { id: callId }, select: { variables: true } })
        : null,
    ]);
    if (!row) return null;
    const { toolNames, ...agent } = row;
    const variables = isStringRecord(call?.variables) ? call.variables : {};
    const tools = toolSpecs && toolNames.length > 0 ? await toolSpecs(toolNames) : [];
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
