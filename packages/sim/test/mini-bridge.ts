/**
 * A deliberately small Media Streams ↔ Realtime bridge for the simulators' own end-to-end tests
 * (the product's is services/call-bridge). It forwards caller audio to a Realtime session over
 * plain ws:// and agent audio back, sends Twilio `clear` on `speech_started`, keeps the
 * conversation as text, and when the OpenAI socket closes mid-call it opens a new session,
 * replays the call so far and asks for the answer it still owes.
 */
import type { AddressInfo } from 'node:net';

import { WebSocket, WebSocketServer } from 'ws';

import type { ServerEvent } from '../src/openai/testing.js';

export interface MiniBridgeOptions {
  /** `ws://…/v1/realtime` of the OpenAI simulator. */
  openaiWsUrl: string;
  apiKey: string;
  /** The `session` of each `session.update`. */
  session: Record<string, unknown>;
  /** Every server event, with the id of the session it came from (e.g. to inject faults). */
  onEvent?(sessionId: string, event: ServerEvent): void;
}

export interface Replay {
  items: Array<{ role: 'user' | 'assistant'; text: string }>;
  /** Whether the bridge asked for an answer (a response was cut, or the caller spoke last). */
  responseCreate: boolean;
}

export interface MiniBridge {
  /** The `<Stream url>`. */
  url: string;
  /** OpenAI session ids, in the order the bridge opened them. */
  sessionIds: string[];
  /** What the bridge replayed into each reconnected session. */
  replays: Replay[];
  close(): Promise<void>;
}

export async function startMiniBridge(opts: MiniBridgeOptions): Promise<MiniBridge> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((resolve) => wss.once('listening', resolve));
  const sessionIds: string[] = [];
  const replays: Replay[] = [];
  let closing = false;
  const openSockets = new Set<WebSocket>();

  wss.on('connection', (twilio) => {
    let streamSid = '';
    let rt: WebSocket | undefined;
    let ended = false;
    let responding = false;
    // Conversation turns by item id, in the order the lost session created them.
    const turns = new Map<string, { role: 'user' | 'assistant'; text: string }>();
    const toTwilio = (msg: Record<string, unknown>) => {
      if (twilio.readyState === WebSocket.OPEN) twilio.send(JSON.stringify({ ...msg, streamSid }));
    };

    const onEvent = (sessionId: string, e: ServerEvent) => {
      opts.onEvent?.(sessionId, e);
      if (e.type === 'response.output_audio.delta') {
        toTwilio({ event: 'media', media: { payload: e.delta } });
      } else if (e.type === 'input_audio_buffer.speech_started') {
        toTwilio({ event: 'clear' });
      } else if (e.type === 'input_audio_buffer.committed') {
        turns.set(String(e.item_id), { role: 'user', text: '' });
      } else if (e.type === 'conversation.item.input_audio_transcription.completed') {
        const turn = turns.get(String(e.item_id));
        if (turn) turn.text = String(e.transcript);
      } else if (e.type === 'response.output_item.added') {
        const item = e.item as { id: string; type: string };
        if (item.type === 'message') turns.set(item.id, { role: 'assistant', text: '' });
      } else if (e.type === 'response.output_audio_transcript.done') {
        const turn = turns.get(String(e.item_id));
        if (turn) turn.text = String(e.transcript);
      } else if (e.type === 'response.created') {
        responding = true;
      } else if (e.type === 'response.done') {
        responding = false;
      }
    };

    const open = (reconnect: boolean) => {
      const ws = new WebSocket(`${opts.openaiWsUrl}?model=gpt-realtime`, {
        headers: { authorization: `Bearer ${opts.apiKey}` },
      });
      rt = ws;
      openSockets.add(ws);
      let sessionId = '';
      ws.on('message', (data) => {
        const e = JSON.parse(String(data)) as ServerEvent;
        if (e.type === 'session.created') {
          sessionId = (e.session as { id: string }).id;
          sessionIds.push(sessionId);
        }
        onEvent(sessionId, e);
      });
      ws.on('open', () => {
        const send = (event: Record<string, unknown>) => ws.send(JSON.stringify(event));
        send({ type: 'session.update', session: opts.session });
        if (!reconnect) {
          send({ type: 'response.create' }); // the agent greets first
          return;
        }
        const items = [...turns.values()].filter((t) => t.text.trim() !== '');
        for (const t of items) {
          send({
            type: 'conversation.item.create',
            item: {
              type: 'message',
              role: t.role,
              content: [{ type: t.role === 'user' ? 'input_text' : 'output_text', text: t.text }],
            },
          });
        }
        const owed = responding || items.at(-1)?.role === 'user';
        responding = false;
        if (owed) send({ type: 'response.create' });
        replays.push({ items, responseCreate: owed });
      });
      ws.on('error', () => undefined);
      ws.on('close', () => {
        openSockets.delete(ws);
        if (rt === ws && !ended && !closing) open(true);
      });
    };

    twilio.on('message', (data) => {
      const msg = JSON.parse(String(data)) as {
        event: string;
        streamSid?: string;
        media?: { payload: string };
      };
      if (msg.event === 'start') {
        streamSid = String(msg.streamSid);
        open(false);
      } else if (msg.event === 'media' && rt?.readyState === WebSocket.OPEN) {
        // Audio during a reconnect is dropped, as the socket it was for is gone.
        rt.send(JSON.stringify({ type: 'input_audio_buffer.append', audio: msg.media?.payload }));
      } else if (msg.event === 'stop') {
        ended = true;
        rt?.close();
      }
    });
    twilio.on('close', () => {
      ended = true;
      rt?.close();
    });
  });

  return {
    url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/media`,
    sessionIds,
    replays,
    close: async () => {
      closing = true;
      for (const ws of openSockets) ws.terminate();
      for (const ws of wss.clients) ws.terminate();
      await new Promise((resolve) => wss.close(resolve));
    },
  };
}
