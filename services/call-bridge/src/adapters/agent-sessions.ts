/**
 * Loads an agent's Realtime session settings from PostgreSQL. Tools are the agent's named
 * tools as the tool-runner describes them; until the tool-runner serves definitions (issue 8)
 * the agent is offered none, so the model never calls a tool nobody can run.
 */
import type { PrismaClient } from '@app/db';

import type { AgentSession } from './openai-realtime.js';

export function agentSessionLoader(
  prisma: PrismaClient,
): (agentId: string) => Promise<AgentSession | null> {
  return async (agentId) => {
    const agent = await prisma.agent.findUnique({
      where: { id: agentId },
      select: { instructions: true, voice: true, model: true, greetFirst: true, greeting: true },
    });
    return agent ? { ...agent, tools: [] } : null;
  };
}
