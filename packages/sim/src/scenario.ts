/**
 * A scenario makes a whole simulated conversation deterministic: what the caller says and
 * does (`caller`), and what the simulated model answers and which tools it calls (`model`),
 * keyed to the caller's turns.
 *
 * The OpenAI simulator only ever receives audio, as the real API does. To know which caller
 * turn it is hearing (with many calls at once, in any order) the simulated caller marks its
 * audio with quiet in-band tags (see `audio/tags.ts`): one tag with the scenario run id when
 * the stream starts, one with the turn index before each utterance. The tags sit below the
 * VAD threshold, so they never count as speech.
 */
import { z } from 'zod';

const text = z.string().min(1).max(2_000);

/** One step of the simulated caller. */
export const callerStepSchema = z.union([
  /** Speak: generated speech-like audio (not silence) lasting about `durationMs`. */
  z.object({ say: text, durationMs: z.number().int().min(100).max(60_000).optional() }).strict(),
  /** Stay silent for `pauseMs` (the stream still carries silence frames, as a phone line does). */
  z.object({ pauseMs: z.number().int().min(0).max(600_000) }).strict(),
  /**
   * Wait until the agent has spoken and then gone quiet for `quietMs` (default 700), or until
   * `timeoutMs` (default 15000) passes.
   */
  z
    .object({
      waitForAgent: z
        .object({
          quietMs: z.number().int().min(0).max(60_000).optional(),
          timeoutMs: z.number().int().min(0).max(600_000).optional(),
        })
        .strict(),
    })
    .strict(),
  /** Interrupt: once `afterAgentAudioMs` of agent audio has arrived, start saying `say`. */
  z
    .object({
      bargeIn: z
        .object({
          afterAgentAudioMs: z.number().int().min(0).max(600_000),
          say: text,
          durationMs: z.number().int().min(100).max(60_000).optional(),
        })
        .strict(),
    })
    .strict(),
  /** Press keys (Media Streams `dtmf` events; one per digit). */
  z.object({ dtmf: z.string().regex(/^[0-9*#]+$/) }).strict(),
  /** Hang up (Twilio sends `stop` and ends the call). */
  z.object({ hangup: z.literal(true) }).strict(),
]);
export type CallerStep = z.infer<typeof callerStepSchema>;

/** A tool call the simulated model makes on a turn. */
export const modelToolCallSchema = z
  .object({
    name: z.string().min(1).max(64),
    arguments: z.record(z.string(), z.unknown()),
  })
  .strict();

/** What the model does on one turn. */
export const modelTurnSchema = z
  .object({
    /**
     * Which caller turn this answers: its 0-based index among the caller's utterances
     * (`say` and `bargeIn` steps, in order). Absent: the next unanswered turn.
     */
    userTurn: z.number().int().min(0).optional(),
    /** Words spoken (as audio plus output transcript). */
    say: text.optional(),
    /** A function call made before (or instead of) speaking; the model waits for its output. */
    toolCall: modelToolCallSchema.optional(),
    /** Words spoken once the tool's output arrived; `{output}` is replaced by it (JSON). */
    sayAfterTool: text.optional(),
  })
  .strict()
  .refine((t) => t.say !== undefined || t.toolCall !== undefined, {
    message: 'a model turn needs `say` or `toolCall`',
  });
export type ModelTurn = z.infer<typeof modelTurnSchema>;

export const modelScenarioSchema = z
  .object({
    /** Said when a response is requested before the caller spoke (the agent greets first). */
    greeting: text.optional(),
    turns: z.array(modelTurnSchema).max(1_000).default([]),
    /** Said for a caller turn with no matching model turn. */
    fallback: text.default('Sorry, could you say that again?'),
  })
  .strict();
export type ModelScenario = z.infer<typeof modelScenarioSchema>;

export const scenarioSchema = z
  .object({
    name: z.string().min(1).max(200),
    caller: z.object({ steps: z.array(callerStepSchema).min(1).max(1_000) }).strict(),
    model: modelScenarioSchema.default({ turns: [], fallback: 'Sorry, could you say that again?' }),
  })
  .strict();
export type Scenario = z.infer<typeof scenarioSchema>;
export type ScenarioInput = z.input<typeof scenarioSchema>;

/** Validates a scenario (from a file, the CLI or a test); throws a ZodError naming the path. */
export function parseScenario(input: unknown): Scenario {
  return scenarioSchema.parse(input);
}

/** The texts the caller will say, by turn index (what the OpenAI simulator "transcribes"). */
export function callerUtterances(scenario: Scenario): string[] {
  const out: string[] = [];
  for (const step of scenario.caller.steps) {
    if ('say' in step) out.push(step.say);
    else if ('bargeIn' in step) out.push(step.bargeIn.say);
  }
  return out;
}

/** The model turn that answers caller turn `index`, by explicit `userTurn` or by order. */
export function modelTurnFor(model: ModelScenario, index: number): ModelTurn | undefined {
  const explicit = model.turns.find((t) => t.userTurn === index);
  if (explicit) return explicit;
  const implicit = model.turns.filter((t) => t.userTurn === undefined);
  return implicit[index];
}
