/**
 * What the runner reads from PostgreSQL per invocation: the agent's tools (its `toolNames`,
 * resolved by `@app/tools`), whether an unlisted name is a tool at all, and the call's numbers.
 * Read fresh every time: an operator who disables a tool or edits an agent takes effect at once,
 * and an invocation is rare next to the database's capacity.
 */
import { type PrismaClient } from '@app/db';
import { isBuiltinToolName, resolveAgentTools, type ResolvedAgentTools } from '@app/tools';

import { type CallInfo } from '../domain/tool-context.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface ToolDirectory {
  /** The agent's usable tools, or null for an unknown agent. */
  agentTools(agentId: string): Promise<ResolvedAgentTools | null>;
  /** Whether `name` is a tool of the platform (built-in or an `http_tools` row). */
  toolExists(name: string): Promise<boolean>;
  call(callId: string): Promise<CallInfo | null>;
}

export function prismaToolDirectory(prisma: PrismaClient): ToolDirectory {
  return {
    async agentTools(agentId) {
      if (!UUID.test(agentId)) return null;
      const agent = await prisma.agent.findUnique({
        where: { id: agentId },
        select: { toolNames: true },
      });
      return agent ? resolveAgentTools(prisma, agent.toolNames) : null;
    },
    async toolExists(name) {
      if (isBuiltinToolName(name)) return true;
      return (await prisma.httpTool.count({ where: { name } })) > 0;
    },
    async call(callId) {
      if (!UUID.test(callId)) return null;
      const call = await prisma.call.findUnique({
        where: { id: callId },
        select: { direction: true, fromNumber: true, toNumber: true },
      });
      if (!call) return null;
      return call.direction === 'inbound'
        ? { direction: 'inbound', callerNumber: call.fromNumber, agentNumber: call.toNumber }
        : { direction: 'outbound', callerNumber: call.toNumber, agentNumber: call.fromNumber };
    },
  };
}
