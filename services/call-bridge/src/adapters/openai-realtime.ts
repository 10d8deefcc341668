/**
 * The OpenAI leg of a Media Streams call, over the openai SDK's `OpenAIRealtimeWS`
 * (openai-realtime.md 7.3), with the SDK's own transport recovery (`reconnect: true`): when the
 * socket drops, the SDK opens a new one with backoff, up to a lifetime number of attempts. A new
 * socket is a new server session with nothing in it (openai-realtime.md 1), so on `reconnected`
 * the session asks this adapter to {@link RealtimeLeg.restore} it: the agent's `session.update`
 * again and the conversation so far as text items. Deciding when to answer, what to replay and
 * when to give up is the call session's job; this module only speaks the protocol.
 */
import { createSecureContext } from 'node:tls';

import OpenAI from 'openai';
import { OpenAIRealtimeWS } from 'openai/realtime/ws';
import type { ClientOptions } from 'ws';
import { z } from 'zod';

import type {
  HistoryItem,
  RealtimeHandlers,
  RealtimeLeg,
  ResponseOptions,
} from '../domain/realtime-leg.js';

/** An OpenAI function tool as sent in the session config (openai-realtime.md 2). */
export interface FunctionTool {
  type: 'function';
  name: string;
  description: string;
  parameters: Record<string, unknown>;
}

/** The agent settings a Realtime session is configured from (the Agent row, resolved). */
export interface AgentSession {
  instructions: string;
  voice: string;
  model: string;
  /** Whether the agent speaks first when the call connects. @defaultValue true */
  greetFirst?: boolean;
  /** Instructions for the opening response; null: the model greets from `instructions`. */
  greeting?: string | null;
  /** Recording/AI notice said word for word before anything else; null: none. */
  disclosure?: string | null;
  /** Function tools offered to the model. @defaultValue [] */
  tools?: FunctionTool[];
}

export interface RealtimeConnection {
  apiKey: string;
  /** OPENAI_BASE_URL; unset: the SDK default. */
  baseURL?: string | undefined;
  /** OPENAI_REALTIME_URL (`wss:`); `model` is added to its query. */
  realtimeUrl?: string | undefined;
  /** OPENAI_REALTIME_CA: extra CA (PEM) for the WebSocket. */
  ca?: string | undefined;
  /**
   * Reconnect attempts over one call's lifetime (REALTIME_MAX_RECONNECTS); 0 disables recovery.
   * @defaultValue 3
   */
  maxReconnects?: number;
  /** First reconnect delay, doubling per attempt, in ms. @defaultValue 100 */
  reconnectDelayMs?: number;
  /**
   * Caller audio waiting in the socket's send buffer beyond this many bytes is dropped rather
   * than queued (a stalled provider must not build latency). @defaultValue 262 144 (~8 s)
   */
  maxBufferedBytes?: number;
}

const APPEND_PREFIX = '{"type":"input_audio_buffer.append","audio":"';

/** Opens the OpenAI leg for one call. */
export type OpenRealtime = (agent: AgentSession, handlers: RealtimeHandlers) => RealtimeLeg;

/** The `session.update` body for an agent (openai-realtime.md 2.2). */
export function sessionConfig(agent: AgentSession) {
  return {
    type: 'realtime' as const,
    model: agent.model,
    instructions: agent.instructions,
    output_modalities: ['audio' as const],
    audio: {
      input: {
        format: { type: 'audio/pcmu' as const },
        transcription: { model: 'gpt-4o-mini-transcribe' as const },
        turn_detection: {
          type: 'server_vad' as const,
          threshold: 0.5,
          prefix_padding_ms: 300,
          silence_duration_ms: 500,
          create_response: true,
          interrupt_response: true,
        },
      },
      output: { format: { type: 'audio/pcmu' as const }, voice: agent.voice },
    },
    tools: agent.tools ?? [],
    tool_choice: 'auto' as const,
  };
}

/** Conversation items that rebuild the context in a new session (openai-realtime.md 3). */
export function historyEvents(history: readonly HistoryItem[]): Array<Record<string, unknown>> {
  return history.flatMap((turn): Array<Record<string, unknown>> => {
    if (turn.role === 'tool') {
      // The call as the model made it, so its output (now or still to come) has its call_id.
      const call = {
        type: 'conversation.item.create',
        item: {
          type: 'function_call',
          call_id: turn.callId,
          name: turn.name,
          arguments: turn.arguments,
        },
      };
      return turn.output === undefined ? [call] : [call, toolOutputEvent(turn.callId, turn.output)];
    }
    return [
      {
        type: 'conversation.item.create',
        item: {
          type: 'message',
          role: turn.role === 'caller' ? 'user' : 'assistant',
          content: [
            // GA content types: the caller's words as input text, the agent's as output text.
            turn.role === 'caller'
              ? { type: 'input_text', text: turn.text }
              : { type: 'output_text', text: turn.text },
          ],
        },
      },
    ];
  });
}

/** `conversation.item.create` of a tool's output for call `callId` (openai-realtime.md 3). */
export function toolOutputEvent(callId: string, output: string): Record<string, unknown> {
  return {
    type: 'conversation.item.create',
    item: { type: 'function_call_output', call_id: callId, output },
  };
}

/** What every OpenAI socket of a deployment shares: one client, one TLS context, one URL. */
export interface RealtimeEndpoint {
  client: OpenAI;
  /** `ws` options for the socket (the extra CA), if any. */
  socketOptions: ClientOptions | undefined;
  /** A custom `wss:` URL with `query` set (OPENAI_REALTIME_URL); undefined: the SDK's own. */
  url(query: Record<string, string>): (() => URL) | undefined;
}

export function realtimeEndpoint(conn: RealtimeConnection): RealtimeEndpoint {
  const client = new OpenAI({
    apiKey: conn.apiKey,
    ...(conn.baseURL ? { baseURL: conn.baseURL } : {}),
  });
  // One TLS context for every call: given only `ca`, Node would parse the certificate into a
  // new context per connection (a profile under load showed ~1.5 ms of set-up CPU each).
  // `ws` hands its options to tls.connect, which takes `secureContext`; ws's own type omits it.
  const socketOptions = conn.ca
    ? ({ secureContext: createSecureContext({ ca: conn.ca }) } as ClientOptions)
    : undefined;
  const realtimeUrl = conn.realtimeUrl;
  return {
    client,
    socketOptions,
    url: (query) =>
      realtimeUrl
        ? () => {
            const url = new URL(realtimeUrl);
            for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
            return url;
          }
        : undefined,
  };
}

/**
 * The fields of each routed server event that its handler reads. The SDK parses the JSON but
 * checks nothing: a frame of a known type with a field missing or mistyped (`response.done`
 * without `response`) would throw inside the socket's message listener and end the process.
 */
const SERVER_EVENTS = {
  'response.output_audio.delta': z.object({ item_id: z.string(), delta: z.string() }),
  'response.output_audio.done': z.object({ item_id: z.string() }),
  'input_audio_buffer.speech_started': z.object({}),
  'input_audio_buffer.committed': z.object({ item_id: z.string() }),
  'response.created': z.object({}),
  'response.done': z.object({ response: z.object({ status: z.string().nullish() }) }),
  'conversation.item.input_audio_transcription.completed': z.object({
    item_id: z.string(),
    transcript: z.string(),
  }),
  'response.output_audio_transcript.done': z.object({
    item_id: z.string(),
    transcript: z.string(),
  }),
  'response.function_call_arguments.done': z.object({
    item_id: z.string(),
    call_id: z.string(),
    name: z.string(),
    arguments: z.string(),
  }),
  'input_audio_buffer.dtmf_event_received': z.object({ event: z.string() }),
  'output_audio_buffer.stopped': z.object({}),
} as const;
type ServerEvents = typeof SERVER_EVENTS;

/**
 * Routes a Realtime socket's server events to the call session's handlers: the same for a model
 * session (Media Streams) and a SIP call's sideband. `receivedAt` is the receipt time of the
 * frame being dispatched. An event without the fields its handler needs is reported as
 * malformed and skipped, like a frame that is not JSON.
 */
export function routeServerEvents(
  rt: OpenAIRealtimeWS,
  handlers: RealtimeHandlers,
  receivedAt: () => number,
): void {
  const on = <T extends keyof ServerEvents>(
    type: T,
    handle: (e: z.output<ServerEvents[T]>) => void,
  ): void => {
    const schema: z.ZodType = SERVER_EVENTS[type];
    rt.on(type, (event: unknown) => {
      const parsed = schema.safeParse(event);
      // The schema of `type` (TypeScript sees the union of the table's).
      if (parsed.success) handle(parsed.data as z.output<ServerEvents[T]>);
      else handlers.malformed(`${type} without the expected fields`);
    });
  };
  rt.on('error', (err) => {
    if (err.error) {
      handlers.providerError({
        code: err.error.code ?? err.error.type,
        type: err.error.type,
        message: err.error.message,
      });
      return;
    }
    // A client-side failure. An unparseable server frame is skipped and reported; a send on a
    // closing socket or a TLS/handshake failure is followed by the socket's close, and
    // reconnecting (or giving up) is what decides the call.
    if (err.message.startsWith('could not parse')) handlers.malformed(err.message);
  });
  on('response.output_audio.delta', (e) => handlers.audioDelta(e.item_id, e.delta, receivedAt()));
  on('response.output_audio.done', (e) => handlers.audioDone(e.item_id));
  on('input_audio_buffer.speech_started', () => handlers.speechStarted());
  on('input_audio_buffer.committed', (e) => handlers.callerCommitted(e.item_id));
  on('response.created', () => handlers.responseCreated());
  on('response.done', (e) => handlers.responseDone(e.response.status ?? 'completed'));
  on('conversation.item.input_audio_transcription.completed', (e) =>
    handlers.callerTranscript(e.item_id, e.transcript),
  );
  on('response.output_audio_transcript.done', (e) =>
    handlers.agentTranscript(e.item_id, e.transcript),
  );
  on('response.function_call_arguments.done', (e) =>
    handlers.functionCall({
      itemId: e.item_id,
      callId: e.call_id,
      name: e.name,
      arguments: e.arguments,
    }),
  );
  // SIP only: Media Streams key presses come from Twilio (routes/media-stream.ts).
  on('input_audio_buffer.dtmf_event_received', (e) => handlers.dtmf(e.event));
  on('output_audio_buffer.stopped', () => handlers.playbackStopped());
}

/** `response.create`, with instructions and tool choice for this response only when given. */
export function responseCreateEvent(options: ResponseOptions = {}): Record<string, unknown> {
  const response = {
    ...(options.instructions ? { instructions: options.instructions } : {}),
    ...(options.noTools ? { tool_choice: 'none' } : {}),
  };
  return { type: 'response.create', ...(Object.keys(response).length ? { response } : {}) };
}

/** `conversation.item.create` of a message, then `response.create`: call-control `inject`. */
export function injectEvents(
  text: string,
  role: 'system' | 'user',
): Array<Record<string, unknown>> {
  return [
    {
      type: 'conversation.item.create',
      item: { type: 'message', role, content: [{ type: 'input_text', text }] },
    },
    { type: 'response.create' },
  ];
}

/** Builds the {@link OpenRealtime} of a deployment; one OpenAI client for all calls. */
export function openAIRealtime(
  conn: RealtimeConnection,
  endpoint: RealtimeEndpoint = realtimeEndpoint(conn),
): OpenRealtime {
  const { client, socketOptions } = endpoint;
  const maxReconnects = conn.maxReconnects ?? 3;
  const maxBufferedBytes = conn.maxBufferedBytes ?? 256 * 1024;
  return (agent, handlers) => {
    const buildRealtimeURL = endpoint.url({ model: agent.model });
    const rt = new OpenAIRealtimeWS(
      {
        model: agent.model,
        ...(buildRealtimeURL ? { buildRealtimeURL } : {}),
        ...(socketOptions ? { options: socketOptions } : {}),
        ...(maxReconnects > 0
          ? {
              reconnect: true,
              maxReconnectAttempts: maxReconnects,
              reconnectInitialDelay: conn.reconnectDelayMs ?? 100,
              reconnectMaxDelay: 2_000,
              // Nothing is retained while disconnected: the session restores state itself and
              // does not send in between.
              maxQueueBytes: 0,
            }
          : {}),
      },
      client,
    );
    /** Open and not closed by us: sends go out. */
    let live = false;
    let closedByUs = false;
    /** Open for sending: ours, and the socket itself (it may have closed a moment before the SDK's recovery says so). */
    const writable = () => live && rt.socket.readyState === rt.socket.OPEN;
    const send = (event: Record<string, unknown>) => {
      if (writable()) rt.send(event as never);
    };
    const configure = () => send({ type: 'session.update', session: sessionConfig(agent) });
    // Receipt time of the frame being dispatched, so forwarding latency includes JSON parsing.
    let receivedAt = 0;
    const stampReceipt = () => {
      receivedAt = performance.now();
    };
    rt.socket.prependListener('message', stampReceipt);

    rt.socket.once('open', () => {
      if (closedByUs) return;
      live = true;
      configure();
      handlers.opened();
    });
    rt.on('reconnecting', (e) => {
      live = false;
      handlers.interrupted(e.closeCode);
    });
    rt.on('reconnected', () => {
      if (closedByUs) return;
      live = true;
      rt.socket.prependListener('message', stampReceipt);
      handlers.restored();
    });
    const lost = (code: number, reason: string) => {
      live = false;
      if (closedByUs) return;
      closedByUs = true;
      handlers.lost(code, reason);
    };
    // With recovery the SDK reports a permanent close here; without, the socket does.
    if (maxReconnects > 0) rt.on('close', (code, reason) => lost(code, reason));
    else rt.socket.on('close', (code, reason) => lost(code, String(reason)));

    routeServerEvents(rt, handlers, () => receivedAt);

    return {
      sendAudio: (payload) => {
        if (!writable()) return false;
        if (rt.socket.bufferedAmount > maxBufferedBytes) return false;
        // The hot path: the payload is checked base64 (routes/media-stream.ts), so it is
        // spliced into the event rather than serialised through an object per frame.
        rt.socket.send(`${APPEND_PREFIX}${payload}"}`);
        return true;
      },
      truncate: (itemId, audioEndMs) =>
        send({
          type: 'conversation.item.truncate',
          item_id: itemId,
          content_index: 0,
          audio_end_ms: audioEndMs,
        }),
      createResponse: (instructions, options) =>
        send(responseCreateEvent({ ...options, ...(instructions ? { instructions } : {}) })),
      sendToolOutput: (callId, output) => send(toolOutputEvent(callId, output)),
      restore: (history) => {
        configure();
        for (const event of historyEvents(history)) send(event);
      },
      inject: (text, role) => {
        for (const event of injectEvents(text, role)) send(event);
      },
      close: () => {
        if (closedByUs) return;
        closedByUs = true;
        live = false;
        rt.close();
      },
    };
  };
}
