/**
 * The OpenAI leg of a Media Streams call, over the openai SDK's `OpenAIRealtimeWS`
 * (openai-realtime.md 7.3). On connect it sends the agent's session (`audio/pcmu` both ways,
 * server VAD, input transcription) and `response.create`, so the agent greets first.
 * Events until the socket opens are queued, so no caller audio is lost.
 */
import OpenAI from 'openai';
import { OpenAIRealtimeWS } from 'openai/realtime/ws';

import type { RealtimeLeg } from '../domain/call-session.js';

/** The Agent row fields the session needs. */
export interface AgentSession {
  instructions: string;
  voice: string;
  model: string;
}

export interface RealtimeConnection {
  apiKey: string;
  /** OPENAI_BASE_URL; unset: the SDK default. */
  baseURL?: string | undefined;
  /** OPENAI_REALTIME_URL (`wss:`); `model` is added to its query. */
  realtimeUrl?: string | undefined;
  /** OPENAI_REALTIME_CA: extra CA (PEM) for the WebSocket. */
  ca?: string | undefined;
}

/** What the OpenAI side reports to the session. */
export interface RealtimeHandlers {
  audioDelta(itemId: string, delta: string): void;
  audioDone(itemId: string): void;
  speechStarted(): void;
  responseCreated(): void;
  responseDone(): void;
  callerTranscript(itemId: string | undefined, text: string): void;
  agentTranscript(itemId: string | undefined, text: string): void;
  /** `fatal`: the connection failed or closed; the call cannot go on. */
  error(code: string, message: string, fatal: boolean): void;
}

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
  };
}

/** Builds the {@link OpenRealtime} of a deployment; one OpenAI client for all calls. */
export function openAIRealtime(conn: RealtimeConnection): OpenRealtime {
  const client = new OpenAI({
    apiKey: conn.apiKey,
    ...(conn.baseURL ? { baseURL: conn.baseURL } : {}),
  });
  return (agent, handlers) => {
    const realtimeUrl = conn.realtimeUrl;
    const rt = new OpenAIRealtimeWS(
      {
        model: agent.model,
        ...(realtimeUrl
          ? {
              buildRealtimeURL: () => {
                const url = new URL(realtimeUrl);
                url.searchParams.set('model', agent.model);
                return url;
              },
            }
          : {}),
        ...(conn.ca ? { options: { ca: conn.ca } } : {}),
      },
      client,
    );
    let open = false;
    let closed = false;
    const queue: string[] = [];
    const send = (event: Record<string, unknown>) => {
      if (closed) return;
      const text = JSON.stringify(event);
      if (open) rt.socket.send(text);
      else queue.push(text);
    };
    rt.socket.on('open', () => {
      open = true;
      rt.socket.send(JSON.stringify({ type: 'session.update', session: sessionConfig(agent) }));
      rt.socket.send(JSON.stringify({ type: 'response.create' }));
      for (const text of queue.splice(0)) rt.socket.send(text);
    });
    rt.socket.on('close', (code, reason) => {
      if (closed) return;
      closed = true;
      handlers.error(
        'realtime_closed',
        `OpenAI closed the session (${code} ${String(reason)})`,
        true,
      );
    });
    rt.on('error', (err) => {
      // With server VAD's interrupt_response the server may have cancelled the response just
      // before our response.cancel arrived: a harmless race, not a call error.
      if (err.error?.code === 'response_cancel_not_active') return;
      const code = err.error?.code ?? (err.error ? err.error.type : 'realtime_transport');
      const fatal = !err.error;
      if (fatal && closed) return;
      handlers.error(code ?? 'realtime_error', err.message, fatal);
    });
    rt.on('response.output_audio.delta', (e) => handlers.audioDelta(e.item_id, e.delta));
    rt.on('response.output_audio.done', (e) => handlers.audioDone(e.item_id));
    rt.on('input_audio_buffer.speech_started', () => handlers.speechStarted());
    rt.on('response.created', () => handlers.responseCreated());
    rt.on('response.done', () => handlers.responseDone());
    rt.on('conversation.item.input_audio_transcription.completed', (e) =>
      handlers.callerTranscript(e.item_id, e.transcript),
    );
    rt.on('response.output_audio_transcript.done', (e) =>
      handlers.agentTranscript(e.item_id, e.transcript),
    );
    return {
      sendAudio: (payload) => send({ type: 'input_audio_buffer.append', audio: payload }),
      truncate: (itemId, audioEndMs) =>
        send({
          type: 'conversation.item.truncate',
          item_id: itemId,
          content_index: 0,
          audio_end_ms: audioEndMs,
        }),
      cancelResponse: () => send({ type: 'response.cancel' }),
      inject: (text, role) => {
        // A message added to the live conversation, then a response so the agent acts on it
        // (openai-realtime.md: conversation.item.create, response.create).
        send({
          type: 'conversation.item.create',
          item: { type: 'message', role, content: [{ type: 'input_text', text }] },
        });
        send({ type: 'response.create' });
      },
      close: () => {
        if (closed) return;
        closed = true;
        queue.length = 0;
        rt.close();
      },
    };
  };
}
