/**
 * Builds the dashboard (packages/dashboard → dist) for `pnpm dev`, so the gateway serves the
 * current sources at `/`. Vite only (no type check): it takes a second or two. A failed build
 * does not stop the runner — the gateway then says at `/` how to build it.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';

export async function buildDashboard(
  rootDir: string,
): Promise<{ ok: true } | { ok: false; output: string }> {
  const dir = join(rootDir, 'packages', 'dashboard');
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(dir, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--logLevel', 'warn'],
      { cwd: dir, env: { ...process.env, NODE_ENV: 'production' }, timeout: 120_000 },
      (err, stdout, stderr) =>
        resolve(
          err ? { ok: false, output: `${stdout}${stderr}`.trim() || err.message } : { ok: true },
        ),
    );
  });
}
