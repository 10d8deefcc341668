import { describe, expect, it } from 'vitest';

import {
  formatProfileSummary,
  originOf,
  parseCpuProfile,
  summarizeCpuProfile,
} from '../src/report/cpu-profile.js';

const frame = (functionName: string, url = '', lineNumber = 0) => ({
  functionName,
  url,
  lineNumber,
  columnNumber: 0,
  scriptId: '0',
});

/** root → idle; root → handler (ours) → writev (native); root → ws parse (dependency). */
const profile = {
  nodes: [
    { id: 1, callFrame: frame('(root)'), children: [2, 3, 5] },
    { id: 2, callFrame: frame('(idle)') },
    {
      id: 3,
      callFrame: frame(
        'onMessage',
        'file:///repo/services/call-bridge/src/routes/media-stream.ts',
        9,
      ),
      children: [4],
    },
    { id: 4, callFrame: frame('writev') },
    {
      id: 5,
      callFrame: frame(
        'startLoop',
        'file:///repo/node_modules/.pnpm/ws@8.18.3/node_modules/ws/lib/receiver.js',
        171,
      ),
    },
  ],
  startTime: 0,
  endTime: 10_000,
  // Each sample's node ran for the next sample's delta: idle 5 ms, handler 1, writev 3, ws 1.
  samples: [2, 3, 4, 5, 2],
  timeDeltas: [0, 5_000, 1_000, 3_000, 1_000],
};

describe('CPU profile summary', () => {
  it('adds self time per function and per origin, idle left out', () => {
    const s = summarizeCpuProfile(parseCpuProfile(profile));
    expect(s.spanMs).toBe(10);
    expect(s.busyMs).toBe(5);
    expect(s.byOrigin).toEqual([
      { key: '(native)', ms: 3, share: 0.6 },
      { key: 'services/call-bridge/routes/media-stream.ts', ms: 1, share: 0.2 },
      { key: 'ws', ms: 1, share: 0.2 },
    ]);
    expect(s.byFunction[0]).toEqual({ key: 'writev', ms: 3, share: 0.6 });
    expect(s.byFunction.map((f) => f.key)).toContain(
      'onMessage services/call-bridge/src/routes/media-stream.ts:10',
    );
    expect(formatProfileSummary(s)).toContain(' 60.0 %        3 ms  writev');
  });

  it('names origins: Node internals, scoped packages, our code, engine entries', () => {
    expect(originOf('node:internal/streams/writable', 'x')).toBe('node:internal');
    expect(
      originOf(
        'file:///r/node_modules/.pnpm/@nats-io+kv@3/node_modules/@nats-io/kv/lib/kv.js',
        'x',
      ),
    ).toBe('@nats-io/kv');
    expect(originOf('file:///r/packages/sim/src/twilio/caller.ts', 'x')).toBe(
      'packages/sim/twilio/caller.ts',
    );
    expect(originOf('', '(garbage collector)')).toBe('(garbage collector)');
  });

  it('refuses a file that is not a CPU profile', () => {
    expect(() => parseCpuProfile({ nodes: [] })).toThrow();
  });
});
