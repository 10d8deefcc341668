/**
 * A stand-in for the system under test on the SIP path: it receives OpenAI's
 * `realtime.call.incoming` webhook, verifies it, accepts the call with a plain phone session,
 * then on the sideband socket asks the agent to greet and answers every function call with
 * `{"ok":true}`. So `pnpm sim call` shows a whole SIP conversation, tool round trip included,
 * with nothing else running. When a real webhook URL is configured (our gateway), this is
 * not used.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { Webhook } from 'standardwebhooks';
import WebSocket from 'ws';
import { z } from 'zod';

/** The session a bare phone agent would accept with (openai-realtime.md section 2). */
export const DEFAULT_PHONE_SESSION = {
  type: 'realtime',
  model: 'gpt-realtime',
  instructions: 'You are a helpful phone agent.',
  audio: {
    input: {
      format: { type: 'audio/pcmu' },
      turn_detection: { type: 'server_vad' },
      transcription: { model: 'gpt-4o-mini-transcribe' },
    },
    output: { format: { type: 'audio/pcmu' }, voice: 'alloy' },
  },
} as const;

const incomingSchema = z.object({
  type: z.literal('realtime.call.incoming'),
  data: z.object({ call_id: z.string().min(1) }),
});

/**
 * Drives one accepted call from the sideband socket (openai-realtime.md section 1, `call_id`):
 * greet first, answer function calls, close when the call ends.
 */
function driveSideband(wsUrl: string, callId: string, apiKey: string): WebSocket {
  const ws = new WebSocket(`${wsUrl}?call_id=${encodeURIComponent(callId)}`, {
    headers: { authorization: `Bearer ${apiKey}` },
  });
  ws.on('open', () => ws.send(JSON.stringify({ type: 'response.create' })));
  // Outputs go in as soon as the model asks; the next response only once this one is done,
  // as a real client must (a response.create during an active response is refused).
  let outputsPending = false;
  ws.on('message', (raw, isBinary) => {
    // Skip frames that are not JSON events (the `malformedEvents` fault sends some).
    let event: { type?: string; call_id?: string };
    try {
      if (isBinary) return;
      event = JSON.parse(String(raw)) as typeof event;
    } catch {
      return;
    }
    if (event === null || typeof event !== 'object') return;
    if (event.type === 'response.function_call_arguments.done' && event.call_id) {
      ws.send(
        JSON.stringify({
          type: 'conversation.item.create',
          item: { type: 'function_call_output', call_id: event.call_id, output: '{"ok":true}' },
        }),
      );
      outputsPending = true;
    }
    if (event.type === 'response.done' && outputsPending) {
      outputsPending = false;
      ws.send(JSON.stringify({ type: 'response.create' }));
    }
  });
  // A dropped sideband only ends this demo agent's part; the call itself goes on.
  ws.on('error', () => undefined);
  return ws;
}

export interface AutoAccepter {
  /** Where OpenAI should POST its webhooks. */
  url: string;
  close(): Promise<void>;
}

export async function startAutoAccepter(opts: {
  host: string;
  openaiHttpUrl: string;
  openaiWsUrl: string;
  apiKey: string;
  webhookSecret: string;
}): Promise<AutoAccepter> {
  const verifier = new Webhook(opts.webhookSecret);
  const app: FastifyInstance = Fastify({ logger: false });
  const sidebands = new Set<WebSocket>();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) =>
    done(null, body),
  );
  app.post('/webhook', async (request, reply) => {
    const body = request.body as string;
    try {
      verifier.verify(body, request.headers as Record<string, string>);
    } catch {
      return reply.code(400).send({ error: 'bad signature' });
    }
    const event = incomingSchema.safeParse(JSON.parse(body));
    if (!event.success) return reply.code(204).send();
    const callId = encodeURIComponent(event.data.data.call_id);
    const res = await fetch(`${opts.openaiHttpUrl}/v1/realtime/calls/${callId}/accept`, {
      method: 'POST',
      headers: { authorization: `Bearer ${opts.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify(DEFAULT_PHONE_SESSION),
    });
    if (res.ok) {
      const ws = driveSideband(opts.openaiWsUrl, event.data.data.call_id, opts.apiKey);
      sidebands.add(ws);
      ws.on('close', () => sidebands.delete(ws));
    }
    return reply.code(res.ok ? 200 : 502).send({ accepted: res.ok });
  });
  const address = await app.listen({ host: opts.host, port: 0 });
  return {
    url: `${address}/webhook`,
    close: async () => {
      for (const ws of sidebands) ws.terminate();
      await app.close();
    },
  };
}
