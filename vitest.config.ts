import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

import { defineConfig } from 'vitest/config';

/** Files that measure real-time budgets; see the `timing` project. */
const TIMING_TESTS = 'test/**/*.timing.test.ts';

/** One Vitest project per workspace package, named after its folder. */
const workspaceDirs = ['packages', 'services'].flatMap((group) =>
  existsSync(group)
    ? readdirSync(group)
        .map((name) => join(group, name))
        .filter((dir) => existsSync(join(dir, 'package.json')))
    : [],
);

export default defineConfig({
  // Resolve sibling packages to their TypeScript sources (the `source` export condition), so
  // tests never need a build first.
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'] } },
  test: {
    // Integration suites talk to the real PostgreSQL and NATS; they raise this explicitly.
    testTimeout: 5_000,
    hookTimeout: 30_000,
    // Two files at a time. Vitest's default on a 2-core machine is one, and most files spend
    // their time waiting on sockets, simulated calls and the file start-up (module loading),
    // so one at a time left both cores idle for most of CI.
    maxWorkers: 2,
    setupFiles: [join(import.meta.dirname, 'vitest.setup.ts')],
    projects: [
      ...workspaceDirs.map((dir) => ({
        extends: true,
        test: {
          name: dir.split('/')[1],
          root: dir,
          include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
          exclude: [TIMING_TESTS],
          sequence: { groupOrder: 0 },
        },
      })),
      // Whole-repository checks: deployment manifests, README, workspace layout.
      {
        extends: true,
        test: {
          name: 'repo',
          root: '.',
          include: ['test/**/*.test.ts'],
          exclude: [TIMING_TESTS],
          sequence: { groupOrder: 0 },
        },
      },
      // Tests that assert real-time budgets (a clear within one 20 ms frame) measure the machine
      // as much as the code while other files load both cores; they run last, one at a time.
      {
        extends: true,
        test: {
          name: 'timing',
          root: '.',
          // Also the two-bridge test: its first calls, placed while other files start whole
          // stacks of services, were not bridged within 38 s on a loaded CI machine.
          include: [`{packages,services}/*/${TIMING_TESTS}`, TIMING_TESTS],
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
