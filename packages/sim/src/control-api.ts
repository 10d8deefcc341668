/**
 * The simulators' own HTTP API (not part of Twilio's or OpenAI's): lets another process, such
 * as `pnpm sim call`, place a scenario call and read its recording.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { z } from 'zod';

import type { RecordingEntry } from './recording.js';
import { scenarioSchema, type Scenario } from './scenario.js';

const e164 = z.string().regex(/^\+[1-9]\d{1,14}$/, 'expected an E.164 number like +15555550100');

const placeCallSchema = z
  .object({
    to: e164,
    from: e164.optional(),
    scenario: scenarioSchema,
    sipHeaders: z.record(z.string(), z.string()).optional(),
  })
  .strict();

/** What the control API needs from the running simulators. */
export interface ControlTarget {
  placeCall(req: {
    to: string;
    from?: string;
    scenario: Scenario;
    sipHeaders?: Record<string, string>;
  }): Promise<{ callSid: string }>;
  /** `undefined` for an unknown call. */
  describeCall(callSid: string):
    | {
        callSid: string;
        status: string;
        ended: boolean;
        endReason?: string;
        recording: ReadonlyArray<RecordingEntry>;
        /** What the simulated model said and heard, when the OpenAI simulator saw this call. */
        conversation?: ReadonlyArray<{ role: 'caller' | 'agent'; text: string; atMs?: number }>;
      }
    | undefined;
}

export function buildControlApi(target: ControlTarget): FastifyInstance {
  const app = Fastify({ logger: false, bodyLimit: 1_048_576 });
  app.post('/sim/calls', async (request, reply) => {
    const parsed = placeCallSchema.safeParse(request.body);
    if (!parsed.success) {
      return reply.code(400).send({
        error: 'invalid call request',
        issues: parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`),
      });
    }
    try {
      const { callSid } = await target.placeCall(parsed.data);
      return reply.code(201).send({ callSid });
    } catch (err) {
      return reply.code(422).send({ error: err instanceof Error ? err.message : String(err) });
    }
  });
  app.get<{ Params: { callSid: string } }>('/sim/calls/:callSid', async (request, reply) => {
    const call = target.describeCall(request.params.callSid);
    if (!call) return reply.code(404).send({ error: `no call ${request.params.callSid}` });
    return call;
  });
  return app;
}
