/**
 * The browser tests run against the built dashboard, as the gateway serves it in production:
 * build it first when dist is missing or older than any of its sources.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

import { buildDashboard } from '../../../scripts/dev/dashboard.js';

export const DASHBOARD_DIR = join(import.meta.dirname, '..');
export const ROOT_DIR = join(DASHBOARD_DIR, '..', '..');

function newestMtime(path: string): number {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  return Math.max(st.mtimeMs, ...readdirSync(path).map((n) => newestMtime(join(path, n))));
}

export async function ensureDashboardBuilt(): Promise<'fresh' | 'rebuilt'> {
  const index = join(DASHBOARD_DIR, 'dist', 'index.html');
  const sources = ['src', 'index.html', 'vite.config.ts', 'package.json'].map((p) =>
    join(DASHBOARD_DIR, p),
  );
  if (existsSync(index) && statSync(index).mtimeMs >= Math.max(...sources.map(newestMtime))) {
    return 'fresh';
  }
  const built = await buildDashboard(ROOT_DIR);
  if (!built.ok) throw new Error(`the dashboard did not build:\n${built.output}`);
  return 'rebuilt';
}
