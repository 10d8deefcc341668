/**
 * Property: whatever the OpenAI Realtime socket sends (any text, bytes, JSON, and mutations of
 * the server events the bridge acts on), the bridge's event parser (adapters/openai-realtime.ts
 * over the SDK's socket) never throws: a frame it cannot use is reported as malformed or
 * ignored, and the events after it are still dispatched. A real WebSocket server plays OpenAI.
 */
import { once } from 'node:events';
import { createServer } from 'node:https';

import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';

// The simulator's certificate maker (not in @app/sim's exports): the SDK connects only to wss:.
import { generateCertificate } from '../../../packages/sim/src/openai/tls.js';
import { openAIRealtime } from '../src/adapters/openai-realtime.js';
import type { RealtimeHandlers } from '../src/domain/realtime-leg.js';

let server: WebSocketServer;
let https: ReturnType<typeof createServer>;
let url: string;
let ca: string;
/** Frames the next connection gets, then the sentinel. */
let script: Array<string | Buffer> = [];
const SENTINEL = JSON.stringify({ type: 'output_audio_buffer.stopped', event_id: 'sentinel' });

/** Errors no one caught: a throwing listener on the socket ends up here. */
const escaped: unknown[] = [];
const onEscape = (err: unknown) => escaped.push(err);

beforeAll(async () => {
  process.on('uncaughtException', onEscape);
  process.on('unhandledRejection', onEscape);
  const tls = await generateCertificate('127.0.0.1');
  ca = tls.certPem;
  https = createServer({ key: tls.keyPem, cert: tls.certPem });
  server = new WebSocketServer({ server: https });
  https.listen(0, '127.0.0.1');
  await once(https, 'listening');
  url = `wss://127.0.0.1:${(https.address() as { port: number }).port}/v1/realtime`;
  server.on('connection', (ws: WebSocket) => {
    // The first client frame is session.update: the session is open and listening.
    ws.once('message', () => {
      for (const frame of script) ws.send(frame);
      ws.send(SENTINEL);
    });
  });
});

afterAll(async () => {
  process.off('uncaughtException', onEscape);
  process.off('unhandledRejection', onEscape);
  for (const ws of server.clients) ws.terminate();
  await new Promise((r) => server.close(r));
  await new Promise((r) => https.close(r));
});

/** The server events the bridge routes, valid, as the API sends them. */
const VALID_EVENTS: Array<Record<string, unknown>> = [
  { type: 'response.output_audio.delta', item_id: 'item_1', delta: 'AAAA', response_id: 'r' },
  { type: 'response.output_audio.done', item_id: 'item_1' },
  { type: 'input_audio_buffer.speech_started', item_id: 'item_2', audio_start_ms: 10 },
  { type: 'input_audio_buffer.committed', item_id: 'item_2', previous_item_id: null },
  { type: 'response.created', response: { id: 'r', status: 'in_progress' } },
  { type: 'response.done', response: { id: 'r', status: 'completed' } },
  {
    type: 'conversation.item.input_audio_transcription.completed',
    item_id: 'item_2',
    transcript: 'hello',
  },
  { type: 'response.output_audio_transcript.done', item_id: 'item_1', transcript: 'hi' },
  {
    type: 'response.function_call_arguments.done',
    item_id: 'item_3',
    call_id: 'call_1',
    name: 'lookup',
    arguments: '{}',
  },
  { type: 'input_audio_buffer.dtmf_event_received', event: '5' },
  { type: 'error', error: { type: 'invalid_request_error', code: 'x', message: 'bad' } },
];

/** A valid event with fields dropped or replaced by any JSON (its `type` kept or not). */
const mutatedEvent = fc
  .tuple(
    fc.constantFrom(...VALID_EVENTS),
    fc.boolean(),
    fc.dictionary(
      fc.constantFrom(
        'item_id',
        'delta',
        'response',
        'transcript',
        'error',
        'event',
        'call_id',
        'name',
        'arguments',
        'type',
      ),
      fc.jsonValue(),
      { maxKeys: 3 },
    ),
  )
  .map(([event, dropAll, replace]) => {
    const out: Record<string, unknown> = { ...event, ...replace };
    if (dropAll) for (const k of Object.keys(out)) if (k !== 'type') delete out[k];
    return JSON.stringify(out);
  });

const frame: fc.Arbitrary<string | Buffer> = fc.oneof(
  { weight: 4, arbitrary: mutatedEvent },
  fc.constantFrom(...VALID_EVENTS.map((e) => JSON.stringify(e))),
  fc.string({ maxLength: 100 }),
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)),
  fc.constantFrom('null', '[]', '{}', '{"type":null}', '{"type":{}}', '"response.done"'),
);

function recordingHandlers(): { handlers: RealtimeHandlers; calls: string[]; done: Promise<void> } {
  const calls: string[] = [];
  let finish!: () => void;
  const done = new Promise<void>((r) => (finish = r));
  const record =
    (name: string) =>
    (...args: unknown[]): void => {
      calls.push(name);
      if (name === 'playbackStopped' && args.length === 0) finish();
    };
  const handlers = new Proxy({} as RealtimeHandlers, {
    get: (_t, prop) => record(String(prop)),
  });
  return { handlers, calls, done };
}

describe(
  'call-bridge OpenAI Realtime events - property: no frame crashes the parser',
  { timeout: 180_000 },
  () => {
    it('any frames, then a valid event: nothing escapes, and the valid event still arrives', async () => {
      const open = openAIRealtime({
        apiKey: 'sk-property',
        realtimeUrl: url,
        ca,
        maxReconnects: 0,
      });
      await fc.assert(
        fc.asyncProperty(fc.array(frame, { minLength: 1, maxLength: 8 }), async (frames) => {
          script = frames;
          escaped.length = 0;
          const { handlers, calls, done } = recordingHandlers();
          const leg = open(
            { instructions: 'Be brief.', voice: 'marin', model: 'gpt-realtime' },
            handlers,
          );
          try {
            await Promise.race([
              done,
              new Promise((_, reject) =>
                setTimeout(
                  () => reject(new Error(`sentinel never arrived: ${calls.join(',')}`)),
                  5_000,
                ),
              ),
            ]);
          } finally {
            leg.close();
          }
          expect(escaped).toEqual([]);
          expect(calls).not.toContain('lost');
        }),
        { numRuns: 150 },
      );
    });
  },
);
