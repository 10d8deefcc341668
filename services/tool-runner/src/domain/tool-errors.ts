/**
 * The failures a tool invocation can end in, as the model reads them (`function_call_output`):
 * a stable code, a message written for the model (what went wrong and what to do), and whether
 * trying again may help. Nothing here throws past the runner: every failure becomes one of these.
 */
import { type ToolResult } from '@app/contracts';

export const ToolErrorCode = {
  /** No built-in or HTTP tool has this name. */
  UnknownTool: 'UNKNOWN_TOOL',
  /** The tool exists, but not in this agent's `toolNames` (or it is disabled). */
  NotEnabled: 'TOOL_NOT_ENABLED',
  /** The arguments failed the tool's JSON Schema. */
  InvalidArgs: 'INVALID_ARGS',
  /** The per-call or per-tool rate limit is used up. */
  RateLimited: 'RATE_LIMITED',
  /** The tool did not finish within its timeout (or the requester's deadline). */
  Timeout: 'TIMEOUT',
  /** The tool ran and failed (an HTTP tool's 4xx/5xx or redirect, a refused callback). */
  HandlerError: 'TOOL_FAILED',
  /** The output is larger than the limit. */
  OutputTooLarge: 'OUTPUT_TOO_LARGE',
  /**
   * An HTTP tool's URL is, or resolves to, an address the deployment does not let tools reach
   * (loopback, private, link-local such as cloud metadata, …: the SSRF guard); nothing was sent.
   */
  DestinationNotAllowed: 'DESTINATION_NOT_ALLOWED',
} as const;
export type ToolErrorCode = (typeof ToolErrorCode)[keyof typeof ToolErrorCode];

/** A failure a handler reports on purpose (its message is meant for the model). */
export class ToolFailure extends Error {
  constructor(
    readonly code: ToolErrorCode,
    message: string,
    readonly retryable = false,
  ) {
    super(message);
    this.name = 'ToolFailure';
  }
}

export function failure(code: ToolErrorCode, message: string, retryable = false): ToolResult {
  return { ok: false, error: { code, message, retryable } };
}
