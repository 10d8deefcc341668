/**
 * The simulated model's "mind": what a response says and which tools it calls, from the
 * session's scenario (scenario.ts: `modelTurnFor`, `callerUtterances`). The simulator only hears
 * audio; the caller's in-band tags tell it which scenario run and caller turn it hears.
 */
import { callerUtterances, modelTurnFor, type Scenario } from '../scenario.js';
import type { PlannedOutput } from './response-generator.js';

/** Said when a session has no scenario and is asked to speak first. */
export const NEUTRAL_GREETING = 'Hello, thanks for calling. How can I help you today?';
/** Said for a caller turn when the session has no scenario. */
export const NEUTRAL_REPLY = 'I see. Could you tell me a little more?';
/** Said after a tool result when the scenario has no `sayAfterTool`. */
export const NEUTRAL_AFTER_TOOL = 'All right, that is done.';

/** What a response answers. */
export type ResponseCue =
  /** Nothing from the caller yet: the agent greets. */
  | { kind: 'greeting' }
  /** A caller turn: `index` from its turn tag, absent when the audio carried none. */
  | { kind: 'turn'; index?: number }
  /** A function call's output arrived for the call made on caller turn `index`. */
  | { kind: 'tool-output'; index?: number; callId?: string; output: string };

/** The transcript of caller turn `index` (empty when unknown: the simulator hears no words). */
export function transcriptFor(scenario: Scenario | undefined, index: number | undefined): string {
  if (!scenario || index === undefined) return '';
  return callerUtterances(scenario)[index] ?? '';
}

/** `response.instructions` such as "Say 'Thank you for calling'" (§3.1 SIP example) are obeyed verbatim. */
export function quotedSay(instructions: string | undefined): string | undefined {
  if (!instructions) return undefined;
  const m = /\bsay\b[^'"“]*['"“](.+?)['"”](?:\s|$|[.!,])/i.exec(instructions);
  return m?.[1];
}

/** The outputs of the next response. */
export function planOutputs(scenario: Scenario | undefined, cue: ResponseCue): PlannedOutput[] {
  if (cue.kind === 'greeting') {
    return [{ kind: 'say', text: scenario?.model.greeting ?? NEUTRAL_GREETING }];
  }
  const turn =
    scenario && cue.index !== undefined ? modelTurnFor(scenario.model, cue.index) : undefined;
  if (cue.kind === 'tool-output') {
    const text = turn?.sayAfterTool?.replaceAll('{output}', cue.output) ?? NEUTRAL_AFTER_TOOL;
    return [{ kind: 'say', text }];
  }
  if (!turn) return [{ kind: 'say', text: scenario ? scenario.model.fallback : NEUTRAL_REPLY }];
  const out: PlannedOutput[] = [];
  // "A function call made before (or instead of) speaking" (scenario.ts ModelTurn.toolCall).
  if (turn.toolCall) {
    out.push({
      kind: 'tool',
      name: turn.toolCall.name,
      arguments: JSON.stringify(turn.toolCall.arguments),
    });
  }
  if (turn.say) out.push({ kind: 'say', text: turn.say });
  return out;
}
