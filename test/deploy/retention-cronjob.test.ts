/**
 * The `retention` CronJob (issue 10) in the base and every overlay: it runs the retention
 * command of the gateway image, once at a time, with DATABASE_URL from the Secret, RETENTION_*
 * values the job accepts, and the same locked-down pod as every workload.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import { retentionEnvSchema } from '../../services/gateway/src/adapters/retention.js';
import {
  findObject,
  KUSTOMIZE_TARGETS,
  renderKustomization,
  ROOT_DIR,
  type K8sObject,
} from './manifests.js';

interface Container {
  image: string;
  command?: string[];
  args?: string[];
  env?: Array<{
    name: string;
    value?: string;
    valueFrom?: { secretKeyRef?: { name: string; key: string } };
  }>;
  securityContext?: { readOnlyRootFilesystem?: boolean; allowPrivilegeEscalation?: boolean };
  resources?: { requests?: object; limits?: object };
}
interface CronJob {
  spec: {
    schedule: string;
    concurrencyPolicy?: string;
    jobTemplate: {
      spec: {
        template: {
          spec: {
            restartPolicy: string;
            securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
            containers: Container[];
          };
        };
      };
    };
  };
}

const rendered = new Map<string, K8sObject[]>();

beforeAll(async () => {
  const results = await Promise.all(KUSTOMIZE_TARGETS.map((t) => renderKustomization(t)));
  KUSTOMIZE_TARGETS.forEach((t, i) => rendered.set(t, results[i] ?? []));
}, 60_000);

describe('deploy - retention CronJob', { timeout: 30_000 }, () => {
  it.each(KUSTOMIZE_TARGETS)('%s - runs the retention command of the gateway image', (target) => {
    const cron = findObject(rendered.get(target) ?? [], 'CronJob', 'retention') as K8sObject &
      CronJob;
    expect(cron.spec.concurrencyPolicy).toBe('Forbid');
    expect(cron.spec.schedule.split(' ')).toHaveLength(5);
    const pod = cron.spec.jobTemplate.spec.template.spec;
    expect(pod.restartPolicy).toBe('Never');
    expect(pod.securityContext?.runAsNonRoot).toBe(true);
    expect(pod.securityContext?.runAsUser).toBeGreaterThan(0);
    expect(pod.containers).toHaveLength(1);
    const c = pod.containers[0] as Container;
    expect(c.image).toMatch(/(^|\/)voice-platform\/gateway([:@]|$)/);
    // args, so the image's ENTRYPOINT (dumb-init) stays PID 1; the file tsc builds from src.
    expect(c.command).toBeUndefined();
    expect(c.args).toEqual(['node', 'dist/retention-main.js']);
    expect(existsSync(join(ROOT_DIR, 'services/gateway/src/retention-main.ts'))).toBe(true);
    expect(c.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
    });
    expect(Object.keys(c.resources?.limits ?? {}).sort()).toEqual(['cpu', 'memory']);

    const env = c.env ?? [];
    expect(env.find((e) => e.name === 'DATABASE_URL')?.valueFrom?.secretKeyRef).toEqual({
      name: 'voice-platform-secrets',
      key: 'DATABASE_URL',
    });
    // Only variables the job reads, with values it accepts.
    const known = Object.keys(retentionEnvSchema.shape);
    expect(env.map((e) => e.name).filter((n) => !known.includes(n))).toEqual([]);
    const literal = Object.fromEntries(env.filter((e) => e.value).map((e) => [e.name, e.value]));
    const parsed = retentionEnvSchema.safeParse({ ...literal, DATABASE_URL: 'postgresql://x/y' });
    expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
  });
});
