import { spawn } from 'node:child_process';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { SIM_DEFAULTS } from '../src/defaults.js';
import { startSimulators, type Simulators } from '../src/simulators.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');

/** Runs `sim <args>` as a real process, as a person would from the repository root. */
async function runCli(
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--conditions=source', 'packages/sim/src/cli/main.ts', ...args],
    { cwd: ROOT, env: { PATH: process.env.PATH ?? '' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { code, stdout, stderr };
}

describe('sim - both simulators together, the control API and the CLI', { timeout: 60_000 }, () => {
  let sims: Simulators;
  beforeAll(async () => {
    sims = await startSimulators({ pacing: 'fast' });
  });
  afterAll(() => sims?.close());

  it('places a SIP scenario call whose conversation includes greeting, tool round trip and answers', async () => {
    const res = await fetch(`${sims.controlUrl}/sim/calls`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        to: SIM_DEFAULTS.numbers.sip,
        scenario: {
          name: 'tool-call',
          caller: {
            steps: [
              { waitForAgent: { quietMs: 300 } },
              { say: 'Is there a table for two?', durationMs: 800 },
              { waitForAgent: { quietMs: 300 } },
              { hangup: true },
            ],
          },
          model: {
            greeting: 'Hello from the test.',
            turns: [
              {
                toolCall: { name: 'check', arguments: { party: 2 } },
                sayAfterTool: 'The tool said {output}.',
              },
            ],
          },
        },
      }),
    });
    expect(res.status).toBe(201);
    const { callSid } = (await res.json()) as { callSid: string };
    let call: {
      ended: boolean;
      status: string;
      conversation?: Array<{ role: string; text: string }>;
    };
    do {
      await new Promise((r) => setTimeout(r, 100));
      call = (await (await fetch(`${sims.controlUrl}/sim/calls/${callSid}`)).json()) as typeof call;
    } while (!call.ended);
    expect(call.status).toBe('completed');
    expect(call.conversation?.map((l) => `${l.role}: ${l.text}`)).toEqual([
      'agent: Hello from the test.',
      'caller: Is there a table for two?',
      'agent: The tool said {"ok":true}.',
    ]);
  });

  it('refuses a bad call request with the field and the reason', async () => {
    const res = await fetch(`${sims.controlUrl}/sim/calls`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ to: '555-0100', scenario: { name: 'x', caller: { steps: [] } } }),
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { issues: string[] };
    expect(body.issues.join('\n')).toMatch(/to: expected an E\.164 number/);
    expect((await fetch(`${sims.controlUrl}/sim/calls/CAnope`)).status).toBe(404);
  });

  it('`sim call` places a built-in scenario from the command line and prints the conversation', async () => {
    const { code, stdout: out } = await runCli([
      'call',
      '--scenario',
      'book-table',
      '--control',
      sims.controlUrl,
    ]);
    expect(out).toContain("agent : Hello, thanks for calling Luigi's. How can I help?");
    expect(out).toContain('caller: Hi, I would like to book a table for two tomorrow evening.');
    expect(out).toContain("agent : We have seven thirty or nine o'clock. Which would you like?");
    expect(out).toContain('caller: Seven thirty would be perfect, thank you.');
    expect(out).toContain(
      'agent : Booked for two at seven thirty tomorrow. See you then, goodbye!',
    );
    expect(out).toMatch(/completed \(caller-hangup\)/);
    expect(code).toBe(0);
  });

  it('`sim call` says clearly when the simulators are not running', async () => {
    const { code, stderr: err } = await runCli([
      'call',
      '--scenario',
      'book-table',
      '--control',
      'http://127.0.0.1:9',
    ]);
    expect(code).toBe(1);
    expect(err).toMatch(
      /cannot reach the simulators at http:\/\/127\.0\.0\.1:9 \(is `pnpm sim` running\?\)/,
    );
  });
});
