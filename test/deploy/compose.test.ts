import { describe, expect, it } from 'vitest';

import { validateCompose } from './compose-schema.js';
import { loadComposeFile } from './manifests.js';
import { acceptsEnv, SERVICE_NAMES, SERVICE_PORTS } from './service-env.js';

interface ComposeService {
  image?: string;
  build?: { context?: string; target?: string; args?: Record<string, string> };
  environment?: Record<string, string | number | boolean | null>;
  ports?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test?: string[] };
  volumes?: string[];
  command?: string[];
  stop_grace_period?: string;
}

interface ComposeFile {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

const compose = loadComposeFile() as ComposeFile;

function service(name: string): ComposeService {
  const s = compose.services[name];
  if (!s) throw new Error(`docker-compose.yml has no service ${name}`);
  return s;
}

describe('deploy - docker-compose.yml', () => {
  it('matches the Compose Specification schema', () => {
    expect(validateCompose(compose)).toEqual([]);
  });

  it('runs every service of services/ from the Dockerfile, on its port', () => {
    for (const name of SERVICE_NAMES) {
      const s = service(name);
      expect(s.build?.args?.SERVICE, name).toBe(name);
      expect(s.build?.target, name).toBeUndefined();
      expect(s.environment?.HTTP_PORT, name).toBe(String(SERVICE_PORTS[name]));
      expect(s.ports, name).toContain(`${SERVICE_PORTS[name]}:${SERVICE_PORTS[name]}`);
    }
  });

  it('sets only variables each service reads', () => {
    for (const name of SERVICE_NAMES) {
      const names = Object.keys(service(name).environment ?? {});
      expect(
        names.filter((n) => !acceptsEnv(name, n)),
        name,
      ).toEqual([]);
      expect(names, name).toContain('DATABASE_URL');
    }
  });

  it('starts services after a healthy database and NATS and a successful migration', () => {
    for (const name of SERVICE_NAMES) {
      expect(service(name).depends_on, name).toEqual({
        db: { condition: 'service_healthy' },
        migrate: { condition: 'service_completed_successfully' },
        nats: { condition: 'service_healthy' },
      });
      expect(service(name).healthcheck?.test?.join(' '), name).toMatch(/\/readyz/);
    }
    expect(service('migrate').build?.target).toBe('migrate');
    expect(service('migrate').depends_on).toEqual({ db: { condition: 'service_healthy' } });
  });

  it('runs NATS with JetStream on a volume, checked on its monitoring port', () => {
    const nats = service('nats');
    expect(nats.image).toMatch(/^nats:2\.(9|10)\.\d+(-alpine)?$/);
    expect(nats.command).toContain('--jetstream');
    expect(nats.volumes?.some((v) => v.startsWith('nats-data:'))).toBe(true);
    expect(nats.healthcheck?.test?.join(' ')).toMatch(/:8222\/healthz/);
  });

  it.each<[string, Record<string, string>]>([
    ['the dev defaults', {}],
    [
      'NATS_USER and NATS_PASSWORD from the shell or .env',
      { NATS_USER: 'ops', NATS_PASSWORD: 'x9' },
    ],
  ])('NATS requires the user and password every service connects with (%s)', (_, env) => {
    const file = loadComposeFile(undefined, env) as ComposeFile;
    const command = file.services.nats?.command ?? [];
    const arg = (flag: string) => command[command.indexOf(flag) + 1];
    expect(command).toContain('--user');
    expect(command).toContain('--pass');
    expect(arg('--user')).toBe(env.NATS_USER ?? 'voice');
    expect(arg('--pass')).toBe(env.NATS_PASSWORD ?? 'voice-dev-nats');
    for (const name of SERVICE_NAMES) {
      const environment = file.services[name]?.environment ?? {};
      expect(environment.NATS_USER, name).toBe(arg('--user'));
      expect(environment.NATS_PASSWORD, name).toBe(arg('--pass'));
    }
  });

  it('runs PostgreSQL 15 on a volume, checked with pg_isready', () => {
    const db = service('db');
    expect(db.image).toMatch(/^postgres:15[.-]/);
    expect(db.volumes?.some((v) => v.startsWith('db-data:'))).toBe(true);
    expect(db.healthcheck?.test).toContain('pg_isready');
    expect(Object.keys(compose.volumes ?? {}).sort()).toEqual(['db-data', 'nats-data']);
  });

  it('lets call-bridge drain its calls on stop', () => {
    const bridge = service('call-bridge');
    const shutdownMs = Number(bridge.environment?.SHUTDOWN_TIMEOUT_MS);
    const drainMs = Number(bridge.environment?.DRAIN_TIMEOUT_MS);
    expect(shutdownMs).toBeGreaterThanOrEqual(drainMs + 5_000);
    expect(Number.parseInt(bridge.stop_grace_period ?? '10s', 10) * 1000).toBeGreaterThan(
      shutdownMs,
    );
  });
});
