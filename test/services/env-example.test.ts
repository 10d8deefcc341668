import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEnv } from 'node:util';

import { describe, expect, it } from 'vitest';

import { ROOT_DIR } from './service-process.js';

const SERVICES = readdirSync(join(ROOT_DIR, 'services'));

describe('services - .env.example', () => {
  for (const name of SERVICES) {
    it(`${name} - its .env.example is a configuration the service accepts`, async () => {
      const text = readFileSync(join(ROOT_DIR, 'services', name, '.env.example'), 'utf8');
      const env = parseEnv(text) as Record<string, string>;
      const { configSchema } = (await import(`../../services/${name}/src/config.ts`)) as {
        configSchema: { safeParse(v: unknown): { success: boolean; error?: unknown } };
      };
      const result = configSchema.safeParse(env);
      expect(result.error).toBeUndefined();
      expect(result.success).toBe(true);
      // Every variable the example sets is one the schema knows (no stale names).
      const known = Object.keys((configSchema as unknown as { shape: object }).shape);
      expect(known.length).toBeGreaterThan(5);
      for (const key of Object.keys(env)) expect(known).toContain(key);
    });
  }
});
