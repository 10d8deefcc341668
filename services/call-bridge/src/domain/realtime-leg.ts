/**
 * The voice-model side of a call as the call session sees it: what it can ask of the model and
 * what the model reports back. The OpenAI Realtime adapter implements it today
 * (adapters/openai-realtime.ts); a different provider only has to speak these two interfaces
 * (ARCHITECTURE.md "Providers": call ownership, events and the Twilio side stay untouched).
 */

/** One finished turn of the conversation, replayed into a new provider session. */
export type HistoryItem =
  | { role: 'caller' | 'agent'; text: string }
  /**
   * A function call of the model, with its output once the tool answered: replayed so that a
   * new session knows what was looked up, and so that an output still to come has its call.
   */
  | { role: 'tool'; callId: string; name: string; arguments: string; output?: string };

/** A function call the model made (`response.function_call_arguments.done`). */
export interface FunctionCall {
  /** The conversation item of the call. */
  itemId: string;
  /** The provider's call id (`call_…`): its output goes back under it. */
  callId: string;
  name: string;
  /** The arguments as the model wrote them: a JSON string, not yet checked. */
  arguments: string;
}

/** Options of one `response.create`. */
export interface ResponseOptions {
  /** Instructions for this response only. */
  instructions?: string;
  /** No function calls in this response (`tool_choice: "none"`): a filler line. */
  noTools?: boolean;
}

/** Domain → provider. */
export interface RealtimeLeg {
  /**
   * `input_audio_buffer.append` with a base64 µ-law payload (standard base64, checked by the
   * caller: it may be written into the event as is).
   * @returns false when the frame was not sent (not connected, or its send buffer is full).
   */
  sendAudio(payload: string): boolean;
  /** `conversation.item.truncate` at `audioEndMs` of content 0. */
  truncate(itemId: string, audioEndMs: number): void;
  /** `response.create`, optionally with instructions for this response only. */
  createResponse(instructions?: string, options?: Omit<ResponseOptions, 'instructions'>): void;
  /** `conversation.item.create` of a `function_call_output` for call `callId`. */
  sendToolOutput(callId: string, output: string): void;
  /** After a reconnect: configures the new session and replays the conversation so far. */
  restore(history: readonly HistoryItem[]): void;
  /** Adds a message to the conversation and asks for a response (call-control `inject`). */
  inject(text: string, role: 'system' | 'user'): void;
  close(): void;
}

/** A provider `error` event: the session stays open (openai-realtime.md 9). */
export interface ProviderError {
  code: string;
  type: string;
  message: string;
}

/** Provider → domain. */
export interface RealtimeHandlers {
  /** The first connection is open and configured. */
  opened(): void;
  /** Agent audio; `receivedAt` is when its frame arrived (performance.now ms). */
  audioDelta(itemId: string, delta: string, receivedAt: number): void;
  audioDone(itemId: string): void;
  speechStarted(): void;
  /** The caller's speech became conversation item `itemId` (orders the history). */
  callerCommitted(itemId: string): void;
  responseCreated(): void;
  /** The model called a function; its arguments are complete. */
  functionCall(call: FunctionCall): void;
  /** The caller pressed a key (SIP: `input_audio_buffer.dtmf_event_received`). */
  dtmf(digit: string): void;
  /** The provider finished playing the agent's audio to the caller (SIP: `output_audio_buffer.stopped`). */
  playbackStopped(): void;
  /** `status`: completed, cancelled, failed or incomplete. */
  responseDone(status: string): void;
  callerTranscript(itemId: string, text: string): void;
  agentTranscript(itemId: string, text: string): void;
  providerError(error: ProviderError): void;
  /** A server frame that could not be understood; it was skipped. */
  malformed(message: string): void;
  /** The connection dropped and a reconnect is under way. */
  interrupted(closeCode: number): void;
  /** A new connection is open; the session must be restored before anything else is sent. */
  restored(): void;
  /** The connection is gone for good (recovery exhausted or refused). */
  lost(code: number, reason: string): void;
  /**
   * The provider ended the call itself: over SIP the caller hung up (or the call was torn down),
   * and the sideband closed normally. Never called for a Media Streams leg.
   */
  hungUp(): void;
}
