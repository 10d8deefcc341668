/**
 * The conversation every bench call has: the agent greets, then the caller and the agent take
 * turns (short questions, longer answers, so the agent talks about half the time, as on a real
 * support line) until the call has lasted `talkMs`, and the caller hangs up. A set share of the
 * agent's answers is interrupted: the caller talks over it after `BARGE_IN_AFTER_MS` of it.
 */
import { parseScenario, type CallerStep, type Scenario } from '@app/sim';

const GREETING = 'Hello, thanks for calling. How can I help today?';
const QUESTIONS = [
  'I would like to check my order status.',
  'Can you tell me when it will arrive?',
  'Is there a way to change the address?',
  'What are your opening hours tomorrow?',
];
const ANSWERS = [
  'Of course, your order left our warehouse this morning and is on its way.',
  'It should arrive within two working days, usually before noon on the second day.',
  'Yes, you can change the address until the parcel is handed to the courier tonight.',
  'We open at nine in the morning and close at six in the evening, every weekday.',
];
/** Caller utterances are this long (generated speech). */
export const QUESTION_MS = 1_200;
/** Agent audio heard before an interrupting caller starts talking. */
export const BARGE_IN_AFTER_MS = 800;
/**
 * One question and its answer, measured: question, end-of-turn silence (500 ms), the answer
 * (about 5 s of speech at 70 ms a character), the caller's 500 ms of patience and tags. Calls
 * are given turns for `talkMs` at this pace; an interrupted turn is shorter.
 */
export const TURN_MS = 7_800;

export interface CallPlan {
  /** 0-based index of the call in its run: spreads barge-ins across turns. */
  index: number;
  /** How long the conversation should go on, ms. */
  talkMs: number;
  /** Share of the agent's answers the caller talks over (0..1). */
  bargeInRate: number;
  /** Question-and-answer turns after the greeting. @defaultValue enough for `talkMs` */
  turns?: number;
  /**
   * Agent silence the caller waits for before hanging up, ms. The soak waits longer, so a stall
   * of the loaded machine does not make a caller hang up in the middle of an answer.
   * @defaultValue 500
   */
  hangupQuietMs?: number;
}

/** Whether the caller interrupts the answer before its turn `turn` (1-based, never the greeting). */
export function interrupts(plan: CallPlan, turn: number): boolean {
  if (plan.bargeInRate <= 0) return false;
  const every = Math.max(1, Math.round(1 / plan.bargeInRate));
  return (turn + plan.index) % every === 0;
}

export function benchScenario(plan: CallPlan): Scenario {
  const turns = plan.turns ?? Math.max(1, Math.ceil(plan.talkMs / TURN_MS));
  const steps: CallerStep[] = [{ waitForAgent: { quietMs: 500, timeoutMs: 15_000 } }];
  for (let t = 0; t < turns; t += 1) {
    const say = QUESTIONS[t % QUESTIONS.length] as string;
    if (t > 0 && interrupts(plan, t)) {
      steps.push({
        bargeIn: { afterAgentAudioMs: BARGE_IN_AFTER_MS, say, durationMs: QUESTION_MS },
      });
    } else {
      if (t > 0) steps.push({ waitForAgent: { quietMs: 500, timeoutMs: 15_000 } });
      steps.push({ say, durationMs: QUESTION_MS });
    }
  }
  steps.push(
    { waitForAgent: { quietMs: plan.hangupQuietMs ?? 500, timeoutMs: 15_000 } },
    { hangup: true },
  );
  return parseScenario({
    name: `bench-${plan.index}`,
    caller: { steps },
    model: {
      greeting: GREETING,
      turns: Array.from({ length: turns }, (_v, t) => ({
        say: ANSWERS[t % ANSWERS.length] as string,
      })),
    },
  });
}
