import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { parse, parseAllDocuments } from 'yaml';

/** Repository root (this file is test/deploy/manifests.ts). */
export const ROOT_DIR = join(import.meta.dirname, '..', '..');

/** What `kubectl kustomize` renders: the base and every overlay. */
export const KUSTOMIZE_TARGETS = [
  'k8s/base',
  ...readdirSync(join(ROOT_DIR, 'k8s/overlays'), { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => `k8s/overlays/${d.name}`),
];

/** The parts of a rendered object the checks read; the rest is validated by schema only. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [field: string]: unknown;
}

const execFileAsync = promisify(execFile);

/**
 * Renders a kustomization with the kubectl on PATH (its built-in kustomize, offline).
 *
 * @param dir - Kustomization folder relative to the repository root, e.g. `k8s/overlays/dev`.
 * @throws Error naming the folder when kubectl is missing or the kustomization is broken.
 */
export async function renderKustomization(dir: string): Promise<K8sObject[]> {
  let stdout: string;
  try {
    ({ stdout } = await execFileAsync('kubectl', ['kustomize', dir], {
      cwd: ROOT_DIR,
      maxBuffer: 64 * 1024 * 1024,
    }));
  } catch (err) {
    const { code, stderr } = err as NodeJS.ErrnoException & { stderr?: string };
    const why = code === 'ENOENT' ? 'kubectl is not on PATH' : (stderr ?? String(err)).trim();
    throw new Error(`kubectl kustomize ${dir} failed: ${why}`, { cause: err });
  }
  return parseAllDocuments(stdout).map((doc, i) => {
    if (doc.errors.length > 0) throw new Error(`${dir}: document ${i}: ${doc.errors[0]?.message}`);
    const obj = doc.toJS() as K8sObject;
    if (typeof obj?.kind !== 'string' || typeof obj.metadata?.name !== 'string') {
      throw new Error(`${dir}: document ${i} has no kind or metadata.name`);
    }
    return obj;
  });
}

/** `Kind/name`, for messages. */
export function describeObject(obj: K8sObject): string {
  return `${obj.kind}/${obj.metadata.name}`;
}

/** The rendered object of `kind` named `name`; throws when there is none. */
export function findObject(objects: readonly K8sObject[], kind: string, name: string): K8sObject {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`no ${kind}/${name} among the rendered objects`);
  return found;
}

/**
 * Reads docker-compose.yml the way Compose does: YAML merge keys (`<<`) resolved and
 * `${VAR:-default}` interpolated against `env` (empty by default, so results do not depend on
 * the shell running the tests).
 */
export function loadComposeFile(
  file = join(ROOT_DIR, 'docker-compose.yml'),
  env: Record<string, string> = {},
): unknown {
  return interpolate(parse(readFileSync(file, 'utf8'), { merge: true }), env);
}

/** Compose's interpolation: `${VAR}`, `${VAR:-default}`, `${VAR-default}` and `$$`. */
function interpolate(value: unknown, env: Record<string, string>): unknown {
  if (typeof value === 'string') {
    return value.replace(
      /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?\}/g,
      (match, name: string | undefined, op: string | undefined, fallback: string | undefined) => {
        if (match === '$$') return '$';
        const v = env[name ?? ''];
        if (op === ':-') return v === undefined || v === '' ? (fallback ?? '') : v;
        if (op === '-') return v ?? fallback ?? '';
        return v ?? '';
      },
    );
  }
  if (Array.isArray(value)) return value.map((v) => interpolate(v, env));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolate(v, env)]));
  }
  return value;
}

// --- Typed views on the pod parts the checks read (the schemas validate the full shape) ---

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    fieldRef?: { fieldPath: string };
    secretKeyRef?: { name: string; key: string; optional?: boolean };
    configMapKeyRef?: { name: string; key: string };
  };
}

export interface Probe {
  httpGet?: { path: string; port: string | number };
}

export interface Container {
  name: string;
  image: string;
  env?: EnvVar[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  ports?: { name?: string; containerPort: number }[];
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: { readOnlyRootFilesystem?: boolean; allowPrivilegeEscalation?: boolean };
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  startupProbe?: Probe;
  lifecycle?: { preStop?: { exec?: { command: string[] }; sleep?: { seconds: number } } };
}

export interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  terminationGracePeriodSeconds?: number;
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
}

export interface PodTemplate {
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: PodSpec;
}

/** The pod template of a Deployment, StatefulSet or Job; undefined for other kinds. */
export function podTemplate(obj: K8sObject): PodTemplate | undefined {
  if (!['Deployment', 'StatefulSet', 'Job', 'DaemonSet'].includes(obj.kind)) return undefined;
  return (obj as unknown as { spec: { template: PodTemplate } }).spec.template;
}

/** Every container (and init container) of every workload, with the workload it belongs to. */
export function containersOf(objects: readonly K8sObject[]): { owner: K8sObject; c: Container }[] {
  return objects.flatMap((owner) => {
    const spec = podTemplate(owner)?.spec;
    return spec
      ? [...spec.containers, ...(spec.initContainers ?? [])].map((c) => ({ owner, c }))
      : [];
  });
}

/** Seconds a preStop hook waits (`sleep N` exec or the `sleep` action); 0 without one. */
export function preStopSeconds(c: Container): number {
  const preStop = c.lifecycle?.preStop;
  if (preStop?.sleep) return preStop.sleep.seconds;
  const cmd = preStop?.exec?.command ?? [];
  return cmd[0] === 'sleep' && cmd[1] !== undefined ? Number(cmd[1]) : 0;
}
