import { readdirSync } from 'node:fs';
import { join } from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import { formatProblems, validateK8sObjects } from './k8s-schema.js';
import {
  containersOf,
  describeObject,
  findObject,
  KUSTOMIZE_TARGETS,
  podTemplate,
  preStopSeconds,
  renderKustomization,
  ROOT_DIR,
  type Container,
  type K8sObject,
  type PodTemplate,
} from './manifests.js';
import {
  acceptsEnv,
  CALL_BRIDGE_DEFAULT_SHUTDOWN_TIMEOUT_MS,
  DEFAULT_DRAIN_TIMEOUT_MS,
  DEFAULT_SHUTDOWN_TIMEOUT_MS,
  isServiceName,
  MIGRATE_ENV,
  SECRET_ENV,
  SERVICE_NAMES,
  SERVICE_PORTS,
  type ServiceName,
} from './service-env.js';

const rendered = new Map<string, K8sObject[]>();

function objectsOf(target: string): K8sObject[] {
  const objects = rendered.get(target);
  if (!objects) throw new Error(`${target} was not rendered`);
  return objects;
}

beforeAll(async () => {
  // One kubectl run per kustomization; every test below reads the result.
  const results = await Promise.all(KUSTOMIZE_TARGETS.map((t) => renderKustomization(t)));
  KUSTOMIZE_TARGETS.forEach((t, i) => rendered.set(t, results[i] ?? []));
});

/** Environment a service container gets: literal/ref `env` plus the keys of its ConfigMaps. */
function envNames(objects: readonly K8sObject[], owner: K8sObject, containerName: string) {
  const c = podTemplate(owner)?.spec.containers.find((x) => x.name === containerName);
  if (!c) throw new Error(`${describeObject(owner)} has no container ${containerName}`);
  const fromConfigMaps = (c.envFrom ?? []).flatMap((src) => {
    if (!src.configMapRef) return [];
    const cm = findObject(objects, 'ConfigMap', src.configMapRef.name) as { data?: object };
    return Object.keys(cm.data ?? {});
  });
  return [...(c.env ?? []).map((e) => e.name), ...fromConfigMaps];
}

function envValue(owner: K8sObject, name: string): string | undefined {
  const c = podTemplate(owner)?.spec.containers[0];
  return c?.env?.find((e) => e.name === name)?.value;
}

function serviceDeployments(objects: readonly K8sObject[]) {
  return objects
    .filter((o) => o.kind === 'Deployment' && isServiceName(o.metadata.name))
    .map((o) => ({ deployment: o, service: o.metadata.name as ServiceName }));
}

// Schema checks load large model packages; under a loaded CI machine they take more than 5 s.
describe('deploy - Kubernetes manifests (kubectl kustomize)', { timeout: 30_000 }, () => {
  it('renders the base and the dev and prod overlays', () => {
    expect(KUSTOMIZE_TARGETS).toEqual(
      expect.arrayContaining(['k8s/base', 'k8s/overlays/dev', 'k8s/overlays/prod']),
    );
    for (const target of KUSTOMIZE_TARGETS) expect(objectsOf(target).length).toBeGreaterThan(0);
  });

  it.each(KUSTOMIZE_TARGETS)(
    '%s - every object matches its Kubernetes API schema, unknown fields rejected',
    async (target) => {
      const problems = await validateK8sObjects(objectsOf(target));
      expect(problems, formatProblems(problems)).toEqual([]);
    },
  );

  it('lists every folder of services/ in service-env.ts', () => {
    const folders = readdirSync(join(ROOT_DIR, 'services'), { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name);
    expect([...folders].sort()).toEqual([...SERVICE_NAMES].sort());
  });

  it('k8s/base - has a Deployment, a Service and a PodDisruptionBudget per service, on its port', () => {
    const objects = objectsOf('k8s/base');
    for (const name of SERVICE_NAMES) {
      const port = SERVICE_PORTS[name];
      const deployment = findObject(objects, 'Deployment', name);
      const pod = podTemplate(deployment);
      expect(pod?.spec.containers[0]?.ports, name).toEqual([{ name: 'http', containerPort: port }]);
      expect(envValue(deployment, 'HTTP_PORT'), name).toBe(String(port));
      expect(pod?.metadata?.annotations?.['prometheus.io/port'], name).toBe(String(port));
      const service = findObject(objects, 'Service', name) as { spec?: { ports?: unknown } };
      expect(service.spec?.ports, name).toEqual([{ name: 'http', port, targetPort: 'http' }]);
      findObject(objects, 'PodDisruptionBudget', name);
    }
  });

  it.each(KUSTOMIZE_TARGETS)(
    '%s - every service sets only variables the service reads, secrets from the Secret',
    (target) => {
      const objects = objectsOf(target);
      const deployments = serviceDeployments(objects);
      expect(deployments.map((d) => d.service).sort()).toEqual([...SERVICE_NAMES].sort());
      for (const { deployment, service } of deployments) {
        const names = envNames(objects, deployment, 'app');
        expect(
          names.filter((n) => !acceptsEnv(service, n)),
          service,
        ).toEqual([]);
        expect(names, service).toContain('DATABASE_URL');

        const env = podTemplate(deployment)?.spec.containers[0]?.env ?? [];
        for (const e of env.filter((x) => (SECRET_ENV as readonly string[]).includes(x.name))) {
          expect(e.value, `${service} ${e.name} must not be a literal`).toBeUndefined();
          expect(e.valueFrom?.secretKeyRef?.name, `${service} ${e.name}`).toBe(
            'voice-platform-secrets',
          );
        }
        const podName = env.find((e) => e.name === 'POD_NAME');
        expect(podName?.valueFrom?.fieldRef?.fieldPath, service).toBe('metadata.name');
      }
    },
  );

  it.each(KUSTOMIZE_TARGETS)(
    '%s - the migration Job runs the migrate image with DATABASE_URL from the Secret',
    (target) => {
      const objects = objectsOf(target);
      const job = findObject(objects, 'Job', 'migrate');
      const c = podTemplate(job)?.spec.containers[0];
      expect(c?.image).toMatch(/(^|\/)voice-platform\/migrate([:@]|$)/);
      const names = (c?.env ?? []).map((e) => e.name);
      expect(names.filter((n) => !(MIGRATE_ENV as readonly string[]).includes(n))).toEqual([]);
      expect(c?.env?.find((e) => e.name === 'DATABASE_URL')?.valueFrom?.secretKeyRef?.name).toBe(
        'voice-platform-secrets',
      );
    },
  );

  it.each(KUSTOMIZE_TARGETS)(
    '%s - probes /healthz (liveness) and /readyz (readiness) on the http port',
    (target) => {
      for (const { deployment, service } of serviceDeployments(objectsOf(target))) {
        const c = podTemplate(deployment)?.spec.containers[0];
        expect(c?.livenessProbe?.httpGet, service).toEqual({ path: '/healthz', port: 'http' });
        expect(c?.readinessProbe?.httpGet, service).toEqual({ path: '/readyz', port: 'http' });
      }
    },
  );

  it.each(KUSTOMIZE_TARGETS)(
    '%s - every container runs as non-root on a read-only root filesystem with requests and limits',
    (target) => {
      const objects = objectsOf(target);
      for (const { owner, c } of containersOf(objects)) {
        const where = `${describeObject(owner)} ${c.name}`;
        expect(podTemplate(owner)?.spec.securityContext?.runAsNonRoot, where).toBe(true);
        expect(podTemplate(owner)?.spec.securityContext?.runAsUser, where).toBeGreaterThan(0);
        expect(c.securityContext?.readOnlyRootFilesystem, where).toBe(true);
        expect(c.securityContext?.allowPrivilegeEscalation, where).toBe(false);
        expect(Object.keys(c.resources?.requests ?? {}).sort(), where).toEqual(['cpu', 'memory']);
        expect(Object.keys(c.resources?.limits ?? {}).sort(), where).toEqual(['cpu', 'memory']);
      }
    },
  );

  it.each(KUSTOMIZE_TARGETS)(
    '%s - each grace period outlasts preStop plus the service shutdown deadline',
    (target) => {
      for (const { deployment, service } of serviceDeployments(objectsOf(target))) {
        const pod = podTemplate(deployment);
        const c = pod?.spec.containers[0];
        const graceMs = (pod?.spec.terminationGracePeriodSeconds ?? 30) * 1000;
        const preStopMs = (c ? preStopSeconds(c) : 0) * 1000;
        const defaultShutdown =
          service === 'call-bridge'
            ? CALL_BRIDGE_DEFAULT_SHUTDOWN_TIMEOUT_MS
            : DEFAULT_SHUTDOWN_TIMEOUT_MS;
        const shutdownMs = Number(envValue(deployment, 'SHUTDOWN_TIMEOUT_MS') ?? defaultShutdown);
        expect(graceMs, service).toBeGreaterThan(preStopMs + shutdownMs);
      }
    },
  );

  it.each(KUSTOMIZE_TARGETS)(
    '%s - call-bridge drains before SIGKILL: grace > preStop + DRAIN_TIMEOUT_MS + shutdown margin',
    (target) => {
      const deployment = findObject(objectsOf(target), 'Deployment', 'call-bridge');
      const pod = podTemplate(deployment);
      const c = pod?.spec.containers[0];
      const drainMs = Number(envValue(deployment, 'DRAIN_TIMEOUT_MS') ?? DEFAULT_DRAIN_TIMEOUT_MS);
      const shutdownMs = Number(
        envValue(deployment, 'SHUTDOWN_TIMEOUT_MS') ?? CALL_BRIDGE_DEFAULT_SHUTDOWN_TIMEOUT_MS,
      );
      const graceMs = (pod?.spec.terminationGracePeriodSeconds ?? 30) * 1000;
      // The bridge's own rule: the shutdown deadline leaves at least 5 s after the drain.
      expect(shutdownMs).toBeGreaterThanOrEqual(drainMs + 5_000);
      expect(c ? preStopSeconds(c) : 0).toBeGreaterThan(0);
      expect(graceMs).toBeGreaterThan((c ? preStopSeconds(c) : 0) * 1000 + shutdownMs);
      expect(graceMs).toBeGreaterThan(drainMs);
    },
  );

  it.each(KUSTOMIZE_TARGETS.filter((t) => t !== 'k8s/base'))(
    '%s - pins every image to a tag or digest, never latest',
    (target) => {
      for (const { owner, c } of containersOf(objectsOf(target))) {
        const ref = c.image.split('/').pop() ?? '';
        const pinned = ref.includes('@sha256:') || /:[^:]+$/.test(ref);
        expect(pinned && !ref.endsWith(':latest'), `${describeObject(owner)}: ${c.image}`).toBe(
          true,
        );
      }
    },
  );

  it('scales gateway and call-bridge with HPAs, never fighting them with spec.replicas', () => {
    for (const target of ['k8s/base', 'k8s/overlays/prod']) {
      const objects = objectsOf(target);
      for (const name of ['gateway', 'call-bridge']) {
        const hpa = findObject(objects, 'HorizontalPodAutoscaler', name) as {
          spec?: { scaleTargetRef?: { kind: string; name: string }; minReplicas?: number };
        };
        expect(hpa.spec?.scaleTargetRef, `${target} ${name}`).toMatchObject({
          kind: 'Deployment',
          name,
        });
        expect(hpa.spec?.minReplicas, `${target} ${name}`).toBeGreaterThanOrEqual(2);
        const deployment = findObject(objects, 'Deployment', name) as { spec?: object };
        expect(deployment.spec, `${target} ${name}`).not.toHaveProperty('replicas');
      }
    }
  });

  it.each(KUSTOMIZE_TARGETS)(
    '%s - NetworkPolicies: only gateway and call-bridge take traffic from anywhere; NATS only from the platform',
    (target) => {
      const objects = objectsOf(target);
      const policies = objects.filter((o) => o.kind === 'NetworkPolicy') as unknown as Policy[];
      const selecting = (labels: Record<string, string>) =>
        policies.filter((p) => selects(p.spec.podSelector, labels));
      const podLabels = (kind: string, name: string) =>
        podTemplate(findObject(objects, kind, name))?.metadata?.labels ?? {};
      for (const service of SERVICE_NAMES) {
        const selected = selecting(podLabels('Deployment', service));
        expect(
          selected.map((p) => p.metadata.name),
          `${target} ${service}`,
        ).toHaveLength(1);
        const rules = selected[0]?.spec.ingress ?? [];
        // The named port must be one the container declares, or the rule matches nothing.
        expect(rules.flatMap((r) => r.ports?.map((port) => port.port) ?? [])).toEqual(['http']);
        const open = rules.some((r) => r.from === undefined);
        expect(open, `${target} ${service} open to anyone`).toBe(
          service === 'gateway' || service === 'call-bridge',
        );
      }
      const nats = selecting(podLabels('StatefulSet', 'nats'));
      expect(nats).toHaveLength(1);
      const clientRule = nats[0]?.spec.ingress?.find((r) => r.ports?.some((p) => p.port === 4222));
      expect(clientRule?.from).toEqual([
        { podSelector: { matchLabels: { 'app.kubernetes.io/part-of': 'voice-platform' } } },
      ]);
      // Every service pod carries that label, so each can still reach NATS.
      for (const service of SERVICE_NAMES) {
        expect(podLabels('Deployment', service)['app.kubernetes.io/part-of']).toBe(
          'voice-platform',
        );
      }
    },
  );

  it('k8s/overlays/dev - runs one replica of each service, no HPA, and its own PostgreSQL', () => {
    const objects = objectsOf('k8s/overlays/dev');
    for (const { deployment, service } of serviceDeployments(objects)) {
      expect((deployment as { spec?: { replicas?: number } }).spec?.replicas, service).toBe(1);
    }
    expect(objects.filter((o) => o.kind === 'HorizontalPodAutoscaler')).toEqual([]);
    findObject(objects, 'StatefulSet', 'postgres');
    findObject(objects, 'Secret', 'voice-platform-secrets');
  });

  it('k8s/overlays/prod - uses an external database: no PostgreSQL and no Secret in the manifests', () => {
    const objects = objectsOf('k8s/overlays/prod');
    expect(containersOf(objects).filter(({ c }) => /(^|\/)postgres[:@]/.test(c.image))).toEqual([]);
    expect(objects.filter((o) => o.kind === 'Secret')).toEqual([]);
  });

  it.each(KUSTOMIZE_TARGETS)(
    '%s - NATS runs JetStream from an exact 2.10.x/2.9.x image, its store smaller than its volume',
    (target) => {
      const objects = objectsOf(target);
      const nats = findObject(objects, 'StatefulSet', 'nats') as K8sObject & {
        spec: {
          volumeClaimTemplates: { spec: { resources: { requests: { storage: string } } } }[];
        };
      };
      expect(podTemplate(nats)?.spec.containers[0]?.image).toMatch(
        /^nats:2\.(9|10)\.\d+(-alpine)?$/,
      );
      const config = objects.find(
        (o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('nats-config'),
      ) as { data?: Record<string, string> } | undefined;
      const conf = config?.data?.['nats.conf'] ?? '';
      expect(conf).toMatch(/jetstream\s*\{/);
      const storage = nats.spec.volumeClaimTemplates[0]?.spec.resources.requests.storage ?? '';
      const storeBytes = maxFileStoreBytes(conf);
      expect(storeBytes, 'nats.conf sets max_file_store').toBeGreaterThan(0);
      expect(storeBytes).toBeLessThan(quantityBytes(storage));
      findObject(objects, 'Service', 'nats');
      const headless = findObject(objects, 'Service', 'nats-headless') as { spec?: object };
      expect(headless.spec).toMatchObject({ clusterIP: 'None' });
    },
  );

  it.each(KUSTOMIZE_TARGETS)(
    '%s - every container that sets NATS_URL gets NATS_USER and NATS_PASSWORD from the Secret',
    (target) => {
      const objects = objectsOf(target);
      const clients = natsClientContainers(objects);
      // The five services at least: the check cannot pass by finding no client.
      expect(clients.map((x) => x.owner.metadata.name)).toEqual(
        expect.arrayContaining([...SERVICE_NAMES]),
      );
      for (const { owner, c } of clients) {
        const where = `${describeObject(owner)} ${c.name}`;
        for (const name of ['NATS_USER', 'NATS_PASSWORD']) {
          const e = c.env?.find((x) => x.name === name);
          expect(e?.value, `${where} ${name} must not be a literal`).toBeUndefined();
          // Not optional: a Secret without the key stops the pod at creation, visibly.
          expect(e?.valueFrom?.secretKeyRef, `${where} ${name}`).toEqual({
            name: 'voice-platform-secrets',
            key: name,
          });
        }
      }
    },
  );

  it.each(KUSTOMIZE_TARGETS)(
    '%s - the NATS server requires that user and password from the same Secret keys',
    (target) => {
      const objects = objectsOf(target);
      const config = objects.find(
        (o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('nats-config'),
      ) as { data?: Record<string, string> } | undefined;
      const auth = natsAuthorization(config?.data?.['nats.conf'] ?? '');
      expect(auth, 'nats.conf has an authorization block').toBeDefined();
      // Unquoted variables: nats-server expands `$VAR` only outside quotes.
      expect(auth?.user).toBe('$NATS_USER');
      expect(auth?.password).toBe('$NATS_PASSWORD');
      // Nothing that lets a client in without those credentials.
      expect(auth?.body).not.toMatch(/no_auth_user|users\s*[:=]|token\s*[:=]/);
      const nats = podTemplate(findObject(objects, 'StatefulSet', 'nats'))?.spec.containers[0];
      for (const name of ['NATS_USER', 'NATS_PASSWORD']) {
        const e = nats?.env?.find((x) => x.name === name);
        expect(e?.valueFrom?.secretKeyRef, `nats ${name}`).toEqual({
          name: 'voice-platform-secrets',
          key: name,
        });
      }
    },
  );

  it('k8s/overlays/dev - its generated Secret holds the NATS user and a password nats.conf can expand', () => {
    const secret = findObject(
      objectsOf('k8s/overlays/dev'),
      'Secret',
      'voice-platform-secrets',
    ) as {
      data?: Record<string, string>;
    };
    const value = (key: string) => Buffer.from(secret.data?.[key] ?? '', 'base64').toString();
    expect(value('NATS_USER')).toMatch(/^[A-Za-z][A-Za-z0-9_-]*$/);
    // The server parses the variable's value as config text: letters and digits stay one string.
    expect(value('NATS_PASSWORD')).toMatch(/^[A-Za-z][A-Za-z0-9]{15,}$/);
  });

  it.each(KUSTOMIZE_TARGETS)(
    '%s - routes / to the gateway and /media to call-bridge through Ingresses',
    (target) => {
      const paths = objectsOf(target)
        .filter((o) => o.kind === 'Ingress')
        .flatMap((o) => {
          const spec = o.spec as {
            rules: {
              http: { paths: { path: string; backend: { service: { name: string } } }[] };
            }[];
          };
          return spec.rules.flatMap((r) =>
            r.http.paths.map((p) => `${p.path} -> ${p.backend.service.name}`),
          );
        });
      expect(paths.sort()).toEqual(['/ -> gateway', '/media -> call-bridge']);
    },
  );
});

/**
 * Every container, CronJobs' included, whose environment has NATS_URL (set directly or by a
 * ConfigMap of its `envFrom`).
 */
function natsClientContainers(objects: readonly K8sObject[]): { owner: K8sObject; c: Container }[] {
  const cronJobs = objects
    .filter((o) => o.kind === 'CronJob')
    .flatMap((owner) => {
      const spec = (
        owner as unknown as { spec: { jobTemplate: { spec: { template: PodTemplate } } } }
      ).spec.jobTemplate.spec.template.spec;
      return [...spec.containers, ...(spec.initContainers ?? [])].map((c) => ({ owner, c }));
    });
  return [...containersOf(objects), ...cronJobs].filter(({ c }) => {
    if (c.env?.some((e) => e.name === 'NATS_URL')) return true;
    return (c.envFrom ?? []).some((src) => {
      if (!src.configMapRef) return false;
      const cm = findObject(objects, 'ConfigMap', src.configMapRef.name) as { data?: object };
      return Object.hasOwn(cm.data ?? {}, 'NATS_URL');
    });
  });
}

/** The top-level `authorization { ... }` block of a nats.conf, and its user and password. */
function natsAuthorization(
  conf: string,
): { body: string; user: string | undefined; password: string | undefined } | undefined {
  const withoutComments = conf.replace(/#.*$/gm, '');
  const body = /^authorization\s*\{([^}]*)\}/m.exec(withoutComments)?.[1];
  if (body === undefined) return undefined;
  const field = (name: string) =>
    new RegExp(`^\\s*${name}\\s*[:=]\\s*(\\S+)\\s*$`, 'm').exec(body)?.[1];
  return { body, user: field('user'), password: field('password') };
}

/** NATS sizes are binary whether written `8G` or `8GB` (1 GB = 2^30 bytes). */
const NATS_SIZE_UNITS: Record<string, number> = { K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 };

/** Bytes of nats.conf's `max_file_store`; NaN when absent or unparsable. */
function maxFileStoreBytes(conf: string): number {
  const m = /max_file_store:\s*(\d+)\s*([KMGT])B?\b/i.exec(conf);
  const factor = NATS_SIZE_UNITS[m?.[2]?.toUpperCase() ?? ''];
  return m && factor ? Number(m[1]) * factor : NaN;
}

const QUANTITY_UNITS: Record<string, number> = {
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
};

/** Bytes of a Kubernetes storage quantity such as `10Gi`; NaN when unparsable. */
function quantityBytes(quantity: string): number {
  const m = /^(\d+)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(quantity);
  if (!m) return NaN;
  return Number(m[1]) * (m[2] ? (QUANTITY_UNITS[m[2]] ?? NaN) : 1);
}

interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

interface Policy {
  metadata: { name: string };
  spec: {
    podSelector: LabelSelector;
    ingress?: { from?: unknown[]; ports?: { port: string | number }[] }[];
  };
}

/** Kubernetes label-selector matching (matchLabels, and In/NotIn/Exists/DoesNotExist). */
function selects(selector: LabelSelector, labels: Record<string, string>): boolean {
  const byLabels = Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
  const byExpressions = (selector.matchExpressions ?? []).every((e) => {
    const value = labels[e.key];
    switch (e.operator) {
      case 'In':
        return value !== undefined && (e.values ?? []).includes(value);
      case 'NotIn':
        return value === undefined || !(e.values ?? []).includes(value);
      case 'Exists':
        return value !== undefined;
      case 'DoesNotExist':
        return value === undefined;
      default:
        throw new Error(`unknown selector operator ${e.operator}`);
    }
  });
  return byLabels && byExpressions;
}
