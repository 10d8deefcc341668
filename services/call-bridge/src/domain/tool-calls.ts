/**
 * The model's function calls during one call (openai-realtime.md 4.1 "Function call"): each
 * `function_call_arguments.done` is run by the tool-runner, its output goes back as a
 * `function_call_output` item under the same call id, and once every call of the batch has
 * answered the model is asked for the next response: at once when none is active, else after
 * the active one is done (a second `response.create` would be refused with
 * `conversation_already_has_active_response`).
 *
 * A tool still running after {@link ToolPolicy.fillerAfterMs} gets one short filler line (a
 * response with no tools), so the caller does not sit in silence. Every invocation is a
 * `tool-called` event, failures included. A failure (the tool's, or the tool-runner being
 * unreachable) reaches the model as a structured error it can talk about, and the call goes
 * on; {@link ToolPolicy.failuresBeforeHandoff} failures in one call ask for a human.
 *
 * Pure: running a tool and everything the session does are injected.
 */
import type { ToolResult } from '@app/contracts';

import type { FunctionCall, ResponseOptions } from './realtime-leg.js';

/** The built-in tool after whose goodbye the bridge hangs up (tool-runner's `end_call`). */
export const END_CALL_TOOL = 'end_call';
/**
 * The built-in tool that hands the caller to a human; an output with `status: "transferring"`
 * means the handoff service took it and will move the call.
 */
export const TRANSFER_TOOL = 'transfer_to_human';

export interface ToolPolicy {
  /** A tool still running after this long gets a filler line, in ms; 0: never. @defaultValue 1 500 */
  fillerAfterMs: number;
  /** Instructions of the filler response. */
  fillerInstructions: string;
  /** Failed invocations in one call after which a human is asked for; 0: never. @defaultValue 3 */
  failuresBeforeHandoff: number;
}

export const DEFAULT_FILLER_INSTRUCTIONS =
  "Without calling any tool, say 'One moment, please.' and nothing else.";

export const DEFAULT_TOOL_POLICY: ToolPolicy = {
  fillerAfterMs: 1_500,
  fillerInstructions: DEFAULT_FILLER_INSTRUCTIONS,
  failuresBeforeHandoff: 3,
};

/** One invocation for the tool-runner: the call's provider call id is its invocation id. */
export interface ToolRequest {
  invocationId: string;
  name: string;
  args: unknown;
}

/** Runs one tool; must not reject (an unreachable runner is a failed {@link ToolResult}). */
export type RunTool = (request: ToolRequest) => Promise<ToolResult>;

/** The `tool-called` event's data. */
export interface ToolCalledEvent {
  invocationId: string;
  name: string;
  args: unknown;
  result?: unknown;
  error?: { code: string; message: string };
  latencyMs: number;
}

/** What the tool calls need of their call session. */
export interface ToolCallsHost {
  /** Whether a response is being generated now. */
  responseActive(): boolean;
  /** Sends (and remembers) the output of call `callId`. */
  sendOutput(callId: string, output: string): void;
  createResponse(options?: ResponseOptions): void;
  emitCalled(event: ToolCalledEvent): void;
  /** `end_call` succeeded: hang up after the goodbye. */
  endCall(): void;
  /** `transfer_to_human` was accepted: the call is about to be moved to a human. */
  transferring(): void;
  /** The failure count reached {@link ToolPolicy.failuresBeforeHandoff}. */
  failedRepeatedly(failures: number): void;
  now(): number;
}

/** The output the model reads for a result: the tool's JSON, or `{ error: { code, message } }`. */
export function toolOutput(result: ToolResult): string {
  if (result.ok) return JSON.stringify(result.output);
  const { code, message } = result.error;
  return JSON.stringify({ error: { code, message } });
}

export class ToolCalls {
  readonly #run: RunTool;
  readonly #policy: ToolPolicy;
  readonly #host: ToolCallsHost;
  /** Calls running, by provider call id. */
  readonly #pending = new Set<string>();
  /** Outputs are in and the model owes the next response, once the active one is done. */
  #owed = false;
  #fillerTimer: NodeJS.Timeout | null = null;
  /** The filler's time came while a response was active: say it when that one is done. */
  #fillerDue = false;
  #fillerSent = false;
  #failures = 0;
  #closed = false;

  constructor(run: RunTool, host: ToolCallsHost, policy: Partial<ToolPolicy> = {}) {
    this.#run = run;
    this.#host = host;
    this.#policy = { ...DEFAULT_TOOL_POLICY, ...policy };
  }

  /** Calls still waiting for their tool. */
  get pending(): number {
    return this.#pending.size;
  }

  /** `response.function_call_arguments.done`. */
  called(call: FunctionCall): void {
    if (this.#closed || this.#pending.has(call.callId)) return;
    const startedAt = this.#host.now();
    let args: unknown;
    try {
      args = JSON.parse(call.arguments);
    } catch {
      // Never reaches the runner: the model is told, and may call again with valid JSON.
      this.#pending.add(call.callId);
      this.#finished(call, call.arguments, startedAt, {
        ok: false,
        error: {
          code: 'INVALID_ARGUMENTS',
          message: 'the arguments are not valid JSON',
          retryable: false,
        },
      });
      return;
    }
    this.#pending.add(call.callId);
    if (this.#pending.size === 1) this.#armFiller();
    void this.#run({ invocationId: call.callId, name: call.name, args })
      .catch((err: unknown): ToolResult => ({
        ok: false,
        error: { code: 'TOOL_RUNNER_FAILED', message: String(err), retryable: true },
      }))
      .then((result) => this.#finished(call, args, startedAt, result));
  }

  /** The active response is done: the filler or the owed answer may go now. */
  responseDone(): void {
    if (this.#closed) return;
    if (this.#pending.size > 0) {
      if (this.#fillerDue && !this.#fillerSent) this.#sayFiller();
      return;
    }
    if (this.#owed) {
      this.#owed = false;
      this.#host.createResponse();
    }
  }

  /** The call ended: nothing more is sent (results still arriving are still recorded). */
  close(): void {
    this.#closed = true;
    this.#clearFiller();
  }

  #finished(call: FunctionCall, args: unknown, startedAt: number, result: ToolResult): void {
    this.#pending.delete(call.callId);
    const latencyMs = Math.max(0, Math.round(this.#host.now() - startedAt));
    this.#host.emitCalled({
      invocationId: call.callId,
      name: call.name,
      args,
      ...(result.ok
        ? { result: result.output }
        : { error: { code: result.error.code, message: result.error.message } }),
      latencyMs,
    });
    if (this.#closed) return;
    this.#host.sendOutput(call.callId, toolOutput(result));
    if (!result.ok) {
      this.#failures += 1;
      const limit = this.#policy.failuresBeforeHandoff;
      if (limit > 0 && this.#failures === limit) this.#host.failedRepeatedly(this.#failures);
    } else if (call.name === END_CALL_TOOL) {
      this.#host.endCall();
    } else if (call.name === TRANSFER_TOOL && isTransferring(result.output)) {
      this.#host.transferring();
    }
    if (this.#pending.size > 0) return;
    this.#clearFiller();
    if (this.#host.responseActive()) this.#owed = true;
    else this.#host.createResponse();
  }

  #armFiller(): void {
    this.#fillerDue = false;
    this.#fillerSent = false;
    const after = this.#policy.fillerAfterMs;
    if (after <= 0) return;
    this.#fillerTimer = setTimeout(() => {
      this.#fillerTimer = null;
      if (this.#closed || this.#pending.size === 0) return;
      // The model is still talking (its own "let me check"): the filler waits for silence.
      if (this.#host.responseActive()) this.#fillerDue = true;
      else this.#sayFiller();
    }, after);
  }

  #sayFiller(): void {
    this.#fillerSent = true;
    this.#fillerDue = false;
    this.#host.createResponse({ instructions: this.#policy.fillerInstructions, noTools: true });
  }

  #clearFiller(): void {
    if (this.#fillerTimer) clearTimeout(this.#fillerTimer);
    this.#fillerTimer = null;
    this.#fillerDue = false;
  }
}

const isTransferring = (output: unknown): boolean =>
  typeof output === 'object' &&
  output !== null &&
  (output as { status?: unknown }).status === 'transferring';
