/**
 * The simulated model's "mind": what a response says and which tools it calls, from the
 * session's scenario (scenario.ts: `modelTurnFor`, `callerUtterances`). The simulator only hears
 * audio; the caller's in-band tags tell it which scenario run and caller turn it hears.
 */
import { callerUtterances, modelTurnFor, type Scenario } from '../scenario.js';
import type { Conversation, ConversationItem } from './conversation.js';
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

/** Text compared without case, punctuation or spacing, as a transcript may differ in those. */
function normalise(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
}

/** The words of a user message: its input text, or its audio's transcript. */
function userText(item: ConversationItem): string {
  return (item.content ?? [])
    .map((c) =>
      c.type === 'input_text' ? c.text : c.type === 'input_audio' ? (c.transcript ?? '') : '',
    )
    .join(' ');
}

/**
 * The caller turn a user message is: the tag its audio carried, else the scenario utterance
 * its text matches. A text said more than once is taken to be the one at the message's
 * position among the user messages, when that one matches.
 */
function userTurnOf(
  conversation: Conversation,
  item: ConversationItem,
  scenario: Scenario | undefined,
): number | undefined {
  const tagged = conversation.facts(item.id)?.turnIndex;
  if (tagged !== undefined) return tagged;
  if (!scenario) return undefined;
  const text = normalise(userText(item));
  if (text === '') return undefined;
  const matches = callerUtterances(scenario).flatMap((u, i) => (normalise(u) === text ? [i] : []));
  const position = conversation.items
    .filter((i) => i.type === 'message' && i.role === 'user')
    .indexOf(item);
  return matches.includes(position) ? position : matches[0];
}

/**
 * What a client's `response.create` answers when no caller audio is waiting for a reply: the
 * model reads the conversation, as the real one does. A session that a bridge opened mid-call
 * and filled with the call so far as text items picks up where the lost one stopped: a last
 * user message answers that caller turn, a replayed tool output gets the turn's follow-up,
 * an empty conversation gets the greeting, and anything else (the agent spoke last) gets the
 * scenario's fallback.
 */
export function cueFromConversation(
  conversation: Conversation,
  scenario: Scenario | undefined,
): ResponseCue {
  const said = conversation.items.filter(
    (i) =>
      (i.type === 'message' && (i.role === 'user' || i.role === 'assistant')) ||
      i.type === 'function_call_output',
  );
  const last = said.at(-1);
  if (last === undefined) return { kind: 'greeting' };
  if (last.type === 'function_call_output') {
    const user = said.findLast((i) => i.role === 'user');
    const index = user ? userTurnOf(conversation, user, scenario) : undefined;
    return {
      kind: 'tool-output',
      output: last.output ?? '',
      ...(index === undefined ? {} : { index }),
    };
  }
  if (last.role !== 'user') return { kind: 'turn' };
  const index = userTurnOf(conversation, last, scenario);
  return index === undefined ? { kind: 'turn' } : { kind: 'turn', index };
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
