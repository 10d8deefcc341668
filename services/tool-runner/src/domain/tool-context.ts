/**
 * What a tool handler gets besides its (validated) arguments: who is calling, for which call,
 * and a signal aborted when the invocation's time is up.
 */

/** The call a tool runs in, as recorded in `calls` (null when not recorded yet). */
export interface CallInfo {
  readonly direction: 'inbound' | 'outbound';
  /** The remote party: the caller of an inbound call, the callee of an outbound one. */
  readonly callerNumber: string;
  /** Our side: the number the agent answered on, or called from. */
  readonly agentNumber: string;
}

export interface ToolContext {
  readonly callId: string;
  readonly agentId: string;
  /** The model's function call id: idempotency keys derive from it. */
  readonly invocationId: string;
  readonly call: CallInfo | null;
  readonly signal: AbortSignal;
}

export type ToolHandler = (args: Record<string, unknown>, ctx: ToolContext) => Promise<unknown>;
