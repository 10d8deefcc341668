import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { validate } from 'dockerfile-utils';
import { describe, expect, it } from 'vitest';

import { ROOT_DIR } from './manifests.js';

// No Docker engine runs here, so the image is never built in tests: these checks read the
// Dockerfile (with the linter of VS Code's Docker extension) for what STYLE.md 6.11 requires.

const DOCKERFILE = readFileSync(join(ROOT_DIR, 'Dockerfile'), 'utf8');

interface Instruction {
  keyword: string;
  args: string;
}

interface Stage {
  from: string;
  name: string | undefined;
  instructions: Instruction[];
}

/** Instructions (continuation lines joined, comments dropped), grouped by build stage. */
function parseStages(text: string): { globalArgs: Instruction[]; stages: Stage[] } {
  const logical = text
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  const globalArgs: Instruction[] = [];
  const stages: Stage[] = [];
  for (const line of logical) {
    const [, keyword = '', args = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    const ins = { keyword: keyword.toUpperCase(), args };
    if (ins.keyword === 'FROM') {
      const [from = '', , name] = args.split(/\s+/);
      stages.push({ from, name, instructions: [] });
    } else if (stages.length === 0) {
      globalArgs.push(ins);
    } else {
      stages.at(-1)?.instructions.push(ins);
    }
  }
  return { globalArgs, stages };
}

const { globalArgs, stages } = parseStages(DOCKERFILE);

function stage(name: string): Stage {
  const s = stages.find((x) => x.name === name);
  if (!s) throw new Error(`Dockerfile has no stage ${name}`);
  return s;
}

/** Instructions of a stage and of the stages it is built FROM. */
function effective(s: Stage): Instruction[] {
  const parent = stages.find((x) => x.name === s.from);
  return [...(parent ? effective(parent) : []), ...s.instructions];
}

function last(s: Stage, keyword: string): string | undefined {
  return effective(s)
    .filter((i) => i.keyword === keyword)
    .at(-1)?.args;
}

describe('deploy - Dockerfile', () => {
  it('passes the Dockerfile linter without a diagnostic', () => {
    expect(validate(DOCKERFILE).map((d) => `line ${d.range.start.line + 1}: ${d.message}`)).toEqual(
      [],
    );
  });

  it('builds every stage on the digest-pinned node:20 base or on an earlier stage', () => {
    const nodeImage = globalArgs.find(
      (a) => a.keyword === 'ARG' && a.args.startsWith('NODE_IMAGE='),
    );
    expect(nodeImage?.args).toMatch(
      /^NODE_IMAGE=node:20\.\d+\.\d+-bookworm-slim@sha256:[0-9a-f]{64}$/,
    );
    const seen: string[] = [];
    for (const s of stages) {
      expect(['${NODE_IMAGE}', ...seen], `FROM ${s.from}`).toContain(s.from);
      if (s.name) seen.push(s.name);
    }
  });

  it('installs the pnpm of package.json `packageManager` with npm, not corepack', () => {
    const { packageManager } = JSON.parse(readFileSync(join(ROOT_DIR, 'package.json'), 'utf8')) as {
      packageManager: string;
    };
    const pnpm = stage('pnpm');
    expect(pnpm.instructions).toContainEqual({
      keyword: 'ARG',
      args: `PNPM_VERSION=${packageManager.replace(/^pnpm@/, '')}`,
    });
    expect(last(pnpm, 'RUN')).toMatch(/npm install --global "pnpm@\$\{PNPM_VERSION\}"/);
    expect(DOCKERFILE).not.toMatch(/corepack (enable|prepare)/);
  });

  it('cuts each service with pnpm deploy --prod --legacy from one build', () => {
    const runs = stage('deploy-service').instructions.filter((i) => i.keyword === 'RUN');
    expect(runs.map((r) => r.args).join('\n')).toMatch(
      /pnpm --filter "@app\/\$\{SERVICE\}" deploy --prod --legacy .* \/out/,
    );
    expect(stage('deploy-service').from).toBe('build');
    expect(stage('deploy-migrate').from).toBe('build');
  });

  it('runs the service image (the default target) as node under dumb-init', () => {
    const service = stages.at(-1);
    expect(service?.name).toBe('service');
    if (!service) return;
    expect(last(service, 'USER')).toBe('node');
    expect(last(service, 'ENTRYPOINT')).toBe('["dumb-init", "--"]');
    expect(last(service, 'CMD')).toBe('["node", "dist/main.js"]');
    expect(service.instructions).toContainEqual({ keyword: 'ARG', args: 'SERVICE' });
    expect(service.instructions).toContainEqual({
      keyword: 'COPY',
      args: '--from=deploy-service /out /app',
    });
  });

  it('has a migrate target that runs the migration CLI on the copied migrations', () => {
    const migrate = stage('migrate');
    expect(last(migrate, 'USER')).toBe('node');
    expect(last(migrate, 'ENTRYPOINT')).toBe('["dumb-init", "--"]');
    expect(last(migrate, 'CMD')).toBe('["node", "dist/cli/migrate.js"]');
    expect(last(migrate, 'ENV')).toBe('MIGRATIONS_DIR=/app/migrations');
    expect(last(stage('deploy-migrate'), 'RUN')).toMatch(
      /cp -R prisma\/migrations \/out\/migrations/,
    );
  });

  it('keeps installed and built files out of the build context', () => {
    const ignored = readFileSync(join(ROOT_DIR, '.dockerignore'), 'utf8').split(/\r?\n/);
    for (const pattern of ['**/node_modules', '**/dist', '.git', 'packages/db/src/generated']) {
      expect(ignored).toContain(pattern);
    }
  });
});
