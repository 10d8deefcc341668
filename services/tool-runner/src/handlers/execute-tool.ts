/**
 * One `tool-runner.execute` request, end to end: is the tool this agent's, are the arguments
 * valid, is a rate limit used up, then run it within its time and check the output's size. The
 * answer is always a `ToolResult`: failures are structured errors the model reads, never a throw
 * (a throw would reach the bridge as a bare INTERNAL).
 */
import { type ToolExecuteRequest, type ToolResult } from '@app/contracts';
import { SpanKind, SpanStatusCode, type Logger, type Span } from '@app/platform';
import { type AgentTool } from '@app/tools';

import { type CallHttpTool } from '../adapters/http-tool-client.js';
import { type ToolDirectory } from '../adapters/tool-directory.js';
import { type ArgumentValidator } from '../domain/argument-validator.js';
import { type ToolRateLimiter } from '../domain/rate-limits.js';
import { type ToolHandler } from '../domain/tool-context.js';
import { failure, ToolErrorCode, ToolFailure } from '../domain/tool-errors.js';
import { type ToolMetrics } from '../metrics.js';
import { spans } from '../spans.js';

export interface ExecuteSettings {
  /** Largest output (JSON) handed back to the model, bytes. */
  readonly maxOutputBytes: number;
  /** Longest any tool may run, whatever its own timeout, ms. */
  readonly maxTimeoutMs: number;
  /** Kept from the requester's deadline so the reply arrives before it gives up, ms. */
  readonly deadlineMarginMs: number;
}

export interface ExecuteDeps {
  readonly directory: ToolDirectory;
  readonly validator: ArgumentValidator;
  /** Null: no rate limits. */
  readonly limiter: ToolRateLimiter | null;
  readonly builtins: ReadonlyMap<string, ToolHandler>;
  readonly callHttpTool: CallHttpTool;
  readonly settings: ExecuteSettings;
  readonly metrics: ToolMetrics;
  readonly log: Logger;
}

class DeadlineExceeded extends Error {}

/** The tool's own time budget: a built-in's timeout, an HTTP tool's attempts and pauses. */
function toolBudgetMs(tool: AgentTool): number {
  if (tool.kind === 'builtin') return tool.definition.timeoutMs;
  const d = tool.definition;
  const retries = d.maxRetries;
  // Attempts plus the doubling pauses between them (200 ms, 400 ms, …).
  return d.timeoutMs * (retries + 1) + 200 * (2 ** retries - 1);
}

export function createToolExecutor(deps: ExecuteDeps) {
  const { directory, validator, limiter, settings, metrics, log } = deps;

  async function run(
    tool: AgentTool,
    args: Record<string, unknown>,
    req: ToolExecuteRequest,
    timeoutMs: number,
  ): Promise<unknown> {
    const controller = new AbortController();
    const call = await directory.call(req.callId);
    const ctx = {
      callId: req.callId,
      agentId: req.data.agentId,
      invocationId: req.data.invocationId,
      call,
      signal: controller.signal,
    };
    const work =
      tool.kind === 'builtin'
        ? (deps.builtins.get(tool.definition.name) as ToolHandler)(args, ctx)
        : deps.callHttpTool({
            tool: tool.definition,
            args,
            invocationId: ctx.invocationId,
            callId: ctx.callId,
            signal: controller.signal,
          });
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        controller.abort(new DeadlineExceeded());
        reject(new DeadlineExceeded());
      }, timeoutMs);
    });
    try {
      return await Promise.race([work, deadline]);
    } finally {
      clearTimeout(timer);
      // A handler still running after the deadline learns it through the signal.
      if (!controller.signal.aborted) controller.abort();
      work.catch(() => undefined);
    }
  }

  async function execute(req: ToolExecuteRequest): Promise<{ result: ToolResult; tool: string }> {
    const { name, agentId, args } = req.data;
    const resolved = await directory.agentTools(agentId);
    const tool = resolved?.tools.find((t) => t.definition.name === name);
    if (!tool) {
      const skipped = resolved?.skipped.find((s) => s.name === name);
      const exists = skipped?.reason !== 'unknown tool' && (await directory.toolExists(name));
      if (!exists) {
        return {
          tool: 'unknown',
          result: failure(ToolErrorCode.UnknownTool, `there is no tool named "${name}"`),
        };
      }
      const why = !resolved
        ? 'the agent is unknown'
        : skipped
          ? `it is ${skipped.reason}`
          : "it is not among this agent's tools";
      return {
        tool: name,
        result: failure(ToolErrorCode.NotEnabled, `the tool "${name}" cannot be used: ${why}`),
      };
    }

    if (limiter) {
      const decision = await limiter.take(req.callId, name).catch((err: unknown) => {
        // The limits guard against runaway use; a KV outage should not stop every tool.
        log.warn({ err, tool: name }, 'rate limit check failed; invocation let through');
        return { ok: true as const };
      });
      if (!decision.ok) {
        const scope = decision.limit === 'call' ? 'this call' : `the tool "${name}"`;
        return {
          tool: name,
          result: failure(
            ToolErrorCode.RateLimited,
            `too many tool calls for ${scope}; wait ${Math.ceil(decision.retryAfterMs / 1_000)} s or go on without it`,
            true,
          ),
        };
      }
    }

    if (typeof args !== 'object' || args === null || Array.isArray(args)) {
      return {
        tool: name,
        result: failure(ToolErrorCode.InvalidArgs, 'arguments must be a JSON object'),
      };
    }
    const check = validator.check(tool.definition.parameters, args);
    if (!check.ok) {
      if (check.schemaError) log.error({ tool: name, reason: check.reason }, 'tool schema invalid');
      return {
        tool: name,
        result: failure(
          check.schemaError ? ToolErrorCode.HandlerError : ToolErrorCode.InvalidArgs,
          check.schemaError ? check.reason : `invalid arguments: ${check.reason}`,
        ),
      };
    }

    const deadline =
      req.data.deadlineMs === undefined
        ? Infinity
        : Math.max(1, req.data.deadlineMs - settings.deadlineMarginMs);
    const timeoutMs = Math.min(toolBudgetMs(tool), settings.maxTimeoutMs, deadline);
    let output: unknown;
    try {
      output = await run(tool, args as Record<string, unknown>, req, timeoutMs);
    } catch (err) {
      if (err instanceof DeadlineExceeded) {
        return {
          tool: name,
          result: failure(
            ToolErrorCode.Timeout,
            `the tool did not finish within ${timeoutMs} ms; tell the caller it is not available right now`,
            true,
          ),
        };
      }
      if (err instanceof ToolFailure) {
        return { tool: name, result: failure(err.code, err.message, err.retryable) };
      }
      log.error({ err, tool: name, callId: req.callId }, 'tool handler failed');
      return { tool: name, result: failure(ToolErrorCode.HandlerError, 'the tool failed') };
    }

    const json = JSON.stringify(output ?? null);
    if (Buffer.byteLength(json) > settings.maxOutputBytes) {
      return {
        tool: name,
        result: failure(
          ToolErrorCode.OutputTooLarge,
          `the tool's output is larger than ${settings.maxOutputBytes} bytes; it was not used`,
        ),
      };
    }
    return { tool: name, result: { ok: true, output: JSON.parse(json) as never } };
  }

  /**
   * Runs one request under a `tool.execute <tool>` span (a child of the bridge's `tool.call`,
   * whose context the request carried; a tool that calls other services passes it on) and
   * records its metrics; never rejects for a tool's failure.
   */
  return (req: ToolExecuteRequest): Promise<ToolResult> =>
    spans.withSpan(
      'tool.execute',
      {
        'call.id': req.callId,
        'tool.invocation_id': req.data.invocationId,
        'call.agent_id': req.data.agentId,
      },
      (span) => executeTool(req, span),
      { kind: SpanKind.SERVER },
    );

  async function executeTool(req: ToolExecuteRequest, span: Span): Promise<ToolResult> {
    const started = performance.now();
    const { result, tool } = await execute(req);
    const outcome = result.ok ? 'ok' : result.error.code;
    // Named once the tool is known: `unknown` keeps invented names out of span names.
    span.updateName(`tool.execute ${tool}`);
    span.setAttributes({ 'tool.name': tool, 'tool.outcome': outcome });
    if (!result.ok) span.setStatus({ code: SpanStatusCode.ERROR, message: result.error.message });
    metrics.invocations.inc({ tool, outcome });
    metrics.duration.observe({ tool, outcome }, (performance.now() - started) / 1_000);
    if (!result.ok) {
      metrics.errors.inc({ tool, code: result.error.code });
      log.info(
        { tool, callId: req.callId, invocationId: req.data.invocationId, code: result.error.code },
        'tool invocation failed',
      );
    }
    return result;
  }
}
