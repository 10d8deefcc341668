import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { SIM_DEFAULTS } from '../defaults.js';
import { parseScenario } from '../scenario.js';

/** Built-in scenarios by name (packages/sim/scenarios/<name>.json), or a file path. */
function loadScenario(ref: string): unknown {
  const builtIn = join(import.meta.dirname, '..', '..', 'scenarios', `${ref}.json`);
  const path = existsSync(ref) ? ref : builtIn;
  if (!existsSync(path)) throw new Error(`no scenario file "${ref}" (and no built-in named so)`);
  return parseScenario(JSON.parse(readFileSync(path, 'utf8')));
}

interface CallView {
  callSid: string;
  status: string;
  ended: boolean;
  endReason?: string;
  recording: ReadonlyArray<{ atMs: number; kind: string; data?: Record<string, unknown> }>;
  conversation?: ReadonlyArray<{ role: string; text: string; atMs?: number }>;
}

/**
 * The conversation as the simulated model lived it (caller turns as it transcribed them, its
 * own words), then what the caller side observed, for a person reading the terminal.
 */
export function formatConversation(call: CallView): string {
  const lines: string[] = [];
  for (const turn of call.conversation ?? []) {
    const at = turn.atMs === undefined ? '' : `${(turn.atMs / 1000).toFixed(2).padStart(7)}s  `;
    lines.push(`${at}${turn.role === 'agent' ? 'agent ' : 'caller'}: ${turn.text}`);
  }
  if (!call.conversation) lines.push('(the OpenAI simulator did not see this call)');
  const heardMs = call.recording
    .filter((e) => e.kind === 'caller.heard-end')
    .reduce((ms, e) => Math.max(ms, Number(e.data?.heardMs ?? 0)), 0);
  const count = (kind: string) => call.recording.filter((e) => e.kind === kind).length;
  lines.push(
    `caller side: said ${count('caller.say')} turns, heard ${(heardMs / 1000).toFixed(1)} s of agent audio, ` +
      `${count('caller.cleared')} clears, ${count('caller.dtmf')} key presses, ${count('protocol.error')} protocol errors`,
  );
  lines.push(`call ${call.callSid}: ${call.status}${call.endReason ? ` (${call.endReason})` : ''}`);
  return lines.join('\n');
}

export async function runCallCommand(values: {
  scenario?: string;
  to?: string;
  from?: string;
  control?: string;
  json?: boolean;
  'timeout-ms'?: string;
}): Promise<number> {
  if (!values.scenario)
    throw new Error('--scenario is required (a file, or a built-in name such as book-table)');
  const control = values.control ?? `http://${SIM_DEFAULTS.host}:${SIM_DEFAULTS.ports.control}`;
  const timeoutMs = Number(values['timeout-ms'] ?? 120_000);
  const res = await fetch(`${control}/sim/calls`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      to: values.to ?? SIM_DEFAULTS.numbers.sip,
      from: values.from ?? SIM_DEFAULTS.numbers.caller,
      scenario: loadScenario(values.scenario),
    }),
  }).catch((err: unknown) => {
    throw new Error(
      `cannot reach the simulators at ${control} (is \`pnpm sim\` running?): ${String(err)}`,
    );
  });
  const placed = (await res.json()) as { callSid?: string; error?: string; issues?: string[] };
  if (!res.ok || !placed.callSid) {
    throw new Error(
      `call refused: ${placed.error ?? res.status}${placed.issues ? `: ${placed.issues.join('; ')}` : ''}`,
    );
  }
  const deadline = Date.now() + timeoutMs;
  let call: CallView;
  for (;;) {
    call = (await (await fetch(`${control}/sim/calls/${placed.callSid}`)).json()) as CallView;
    if (call.ended || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  process.stdout.write(
    values.json ? `${JSON.stringify(call, null, 2)}\n` : `${formatConversation(call)}\n`,
  );
  return call.ended ? 0 : 1;
}
