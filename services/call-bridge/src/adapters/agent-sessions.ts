/**
 * Loads an agent's Realtime session settings from PostgreSQL, for one call: the call's own
 * variables (from its `created` event, e.g. a call request's) fill the `{{name}}` placeholders of
 * the instructions and the greeting. Tools are the agent's named tools as the tool-runner
 * describes them; until the tool-runner serves definitions (issue 8) the agent is offered none,
 * so the model never calls a tool nobody can run.
 */
import type { PrismaClient } from '@app/db';

import { renderInstructions } from '../domain/instructions.js';
import type { AgentSession } from './openai-realtime.js';

/** The agent's settings for call `callId`; null when there is no such agent. */
export type LoadAgent = (agentId: string, callId?: string) => Promise<AgentSession | null>;

const isStringRecord = (v: unknown): v is Record<string, string> =>
  typeof v === 'object' &&
  v !== null &&
  !Array.isArray(v) &&
  Object.values(v).every((x) => typeof x === 'string');

export function agentSessionLoader(prisma: PrismaClient): LoadAgent {
  return async (agentId, callId) => {
    const [agent, call] = await Promise.all([
      prisma.agent.findUnique({
        where: { id: agentId },
        select: { instructions: true, voice: true, model: true, greetFirst: true, greeting: true },
      }),
      callId
        ? prisma.call.findUnique({ where: { id: callId }, select: { variables: true } })
        : null,
    ]);
    if (!agent) return null;
    const variables = isStringRecord(call?.variables) ? call.variables : {};
    return {
      ...agent,
      instructions: renderInstructions(agent.instructions, variables),
      greeting: agent.greeting === null ? null : renderInstructions(agent.greeting, variables),
      tools: [],
    };
  };
}
