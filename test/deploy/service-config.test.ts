import { beforeAll, describe, expect, it } from 'vitest';

import { loadConfig as callBridgeConfig } from '../../services/call-bridge/src/config.js';
import { loadConfig as campaignSchedulerConfig } from '../../services/campaign-scheduler/src/config.js';
import { loadConfig as gatewayConfig } from '../../services/gateway/src/config.js';
import { loadConfig as handoffConfig } from '../../services/handoff/src/config.js';
import { loadConfig as toolRunnerConfig } from '../../services/tool-runner/src/config.js';
import {
  findObject,
  KUSTOMIZE_TARGETS,
  loadComposeFile,
  podTemplate,
  renderKustomization,
  type K8sObject,
} from './manifests.js';
import { SERVICE_NAMES, type ServiceName } from './service-env.js';

// The names are checked elsewhere; here the values go through each service's own config
// schema, so a manifest can never set something the service refuses at start-up (such as a
// call-bridge shutdown deadline shorter than its drain).

type Env = Record<string, string | undefined>;

const LOAD_CONFIG: Record<ServiceName, (env: Env) => unknown> = {
  gateway: gatewayConfig,
  'call-bridge': callBridgeConfig,
  'campaign-scheduler': campaignSchedulerConfig,
  'tool-runner': toolRunnerConfig,
  handoff: handoffConfig,
};

/** Stands in for the Secret's DATABASE_URL, which no manifest holds in production. */
const SECRET_DATABASE_URL = 'postgresql://voice:secret@db.example.internal:5432/voice';

/**
 * The environment Kubernetes would give the container: ConfigMap keys, then `env` entries
 * (which win). Optional secret refs stay unset, as when the Secret lacks the key.
 */
function k8sEnv(objects: readonly K8sObject[], deployment: K8sObject): Env {
  const c = podTemplate(deployment)?.spec.containers[0];
  const env: Env = {};
  for (const src of c?.envFrom ?? []) {
    if (!src.configMapRef) continue;
    const cm = findObject(objects, 'ConfigMap', src.configMapRef.name) as {
      data?: Record<string, string>;
    };
    Object.assign(env, cm.data);
  }
  for (const e of c?.env ?? []) {
    if (e.value !== undefined) env[e.name] = e.value;
    else if (e.valueFrom?.fieldRef) env[e.name] = `${deployment.metadata.name}-7d9f8c6b5-x2x4q`;
    else if (e.valueFrom?.secretKeyRef?.key === 'DATABASE_URL') env[e.name] = SECRET_DATABASE_URL;
    // A required (non-optional) secret exists in the cluster: stand in a value of its shape.
    else if (e.valueFrom?.secretKeyRef && !e.valueFrom.secretKeyRef.optional) {
      env[e.name] = `cluster-secret-${e.valueFrom.secretKeyRef.key}-0123456789abcdef`;
    }
  }
  return env;
}

describe('deploy - every service accepts the configuration its manifests give it', () => {
  const rendered = new Map<string, K8sObject[]>();

  beforeAll(async () => {
    for (const target of KUSTOMIZE_TARGETS) rendered.set(target, await renderKustomization(target));
  });

  it.each(KUSTOMIZE_TARGETS)('%s - loadConfig accepts each Deployment environment', (target) => {
    const objects = rendered.get(target) ?? [];
    for (const name of SERVICE_NAMES) {
      const env = k8sEnv(objects, findObject(objects, 'Deployment', name));
      expect(() => LOAD_CONFIG[name](env), `${target} ${name}`).not.toThrow();
    }
  });

  it('docker-compose.yml - loadConfig accepts each service environment', () => {
    const compose = loadComposeFile() as {
      services: Record<string, { environment?: Record<string, unknown> }>;
    };
    for (const name of SERVICE_NAMES) {
      const env: Env = {};
      for (const [k, v] of Object.entries(compose.services[name]?.environment ?? {})) {
        // null = passed through from the host's environment, unset here.
        if (v !== null) env[k] = String(v);
      }
      expect(() => LOAD_CONFIG[name](env), name).not.toThrow();
    }
  });
});
