/**
 * Runs one of the model's function calls on the tool-runner (`tool-runner.execute`,
 * ARCHITECTURE.md "Tools"). Never rejects: a runner that is down (no responders), too slow
 * (timeout) or answering nonsense becomes a failed result the model can read, so the call goes
 * on whatever happens to the tool-runner.
 */
import type { NatsConnection } from '@nats-io/transport-node';

import {
  request,
  toolExecuteRequest,
  type BusLogger,
  type Names,
  type ToolResult,
} from '@app/contracts';

import type { ToolRequest } from '../domain/tool-calls.js';

export interface ToolRunnerClientOptions {
  nc: NatsConnection;
  names: Names;
  /**
   * Longest wait for the runner's reply, in ms (TOOL_TIMEOUT_MS). The runner is given a little
   * less as the invocation's deadline, so its own timeout answers first.
   */
  timeoutMs: number;
  log: BusLogger;
}

/** Runs tool calls of call `callId` for agent `agentId`. */
export type ToolRunnerClient = (
  callId: string,
  agentId: string,
  call: ToolRequest,
) => Promise<ToolResult>;

/** Time the runner's reply needs to travel back: its deadline is this much shorter. */
const REPLY_MARGIN_MS = 250;

export function toolRunnerClient(opts: ToolRunnerClientOptions): ToolRunnerClient {
  const { nc, names, timeoutMs, log } = opts;
  return async (callId, agentId, call) => {
    let message;
    try {
      message = toolExecuteRequest(callId, {
        invocationId: call.invocationId,
        name: call.name,
        args: call.args as never,
        agentId,
        deadlineMs: Math.max(1, timeoutMs - REPLY_MARGIN_MS),
      });
    } catch (err) {
      return failure('INVALID_ARGUMENTS', `the call could not be sent: ${String(err)}`, false);
    }
    try {
      const reply = await request(nc, names, 'tool-execute', message, { timeoutMs });
      return reply.data;
    } catch (err) {
      // The NATS client's errors, by name: TimeoutError, or RequestError (no responders).
      const name = err instanceof Error ? err.name : '';
      log.warn({ err, callId, tool: call.name }, 'tool-runner did not answer');
      if (name === 'TimeoutError') {
        return failure('TOOL_TIMEOUT', `the tool did not answer within ${timeoutMs} ms`, true);
      }
      return failure('TOOL_RUNNER_UNAVAILABLE', 'the tool service is unavailable right now', true);
    }
  };
}

function failure(code: string, message: string, retryable: boolean): ToolResult {
  return { ok: false, error: { code, message, retryable } };
}
