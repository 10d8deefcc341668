import { createRequire } from 'node:module';

/**
 * The `version` of the package.json one folder above the calling module. Services call it with
 * `import.meta.url` from `src/main.ts` (tsx) or `dist/main.js` (node): both sit one level below
 * the package root, so the same call works in dev, tests and images.
 */
export function readPackageVersion(importMetaUrl: string): string {
  const require = createRequire(importMetaUrl);
  const pkg = require('../package.json') as { version?: unknown };
  return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
}
