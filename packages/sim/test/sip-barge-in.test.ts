/**
 * What `pnpm sim call` prints after the caller barges in on the SIP path: the agent's cut
 * line carries "[interrupted]" and only the words the caller heard (openai-realtime.md §5
 * "WebRTC and SIP": the server truncates to what was played). In `realtime` pacing the barge-in
 * lands while the response is still generating; in `fast` after it finished, with audio still
 * playing. Both orders must mark the line.
 */
import { afterEach, describe, expect, it } from 'vitest';

import { formatConversation } from '../src/cli/call-command.js';
import { SIM_DEFAULTS } from '../src/defaults.js';
import { parseScenario } from '../src/scenario.js';
import { startSimulators, type Simulators } from '../src/simulators.js';

const GREETING =
  'Good evening and welcome to the restaurant, we are open every day from noon until late at night.';

const scenario = parseScenario({
  name: 'sip barge-in',
  caller: {
    steps: [
      { bargeIn: { afterAgentAudioMs: 600, say: 'Sorry, one question.', durationMs: 600 } },
      { waitForAgent: { quietMs: 300, timeoutMs: 8_000 } },
      { hangup: true },
    ],
  },
  model: { greeting: GREETING, turns: [{ say: 'Of course.' }] },
});

let sims: Simulators | undefined;

afterEach(async () => {
  await sims?.close();
  sims = undefined;
});

async function callUntilEnded(s: Simulators, callSid: string) {
  for (;;) {
    const call = s.control.describeCall(callSid);
    if (call?.ended) return call;
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('sim call - SIP barge-in', { timeout: 20_000 }, () => {
  it.each(['realtime', 'fast'] as const)(
    'marks the interrupted agent line with only the heard words (%s pacing)',
    async (pacing) => {
      const s = await startSimulators({ pacing });
      sims = s;
      const { callSid } = await s.control.placeCall({ to: SIM_DEFAULTS.numbers.sip, scenario });
      const call = await callUntilEnded(s, callSid);
      const agentLines = (call.conversation ?? []).filter((l) => l.role === 'agent');
      expect(agentLines).toHaveLength(2);
      const cut = agentLines[0]?.text ?? '';
      expect(cut).toMatch(/ \[interrupted\]$|^\[interrupted\]$/);
      const heard = cut.replace(/ ?\[interrupted\]$/, '');
      expect(GREETING.startsWith(heard)).toBe(true);
      expect(heard.length).toBeLessThan(GREETING.length);
      expect(agentLines[1]?.text).toBe('Of course.');
      const printed = formatConversation(call);
      expect(printed).toContain(`agent : ${cut}\n`);
      expect(printed).toContain('caller: Sorry, one question.');
    },
  );
});
