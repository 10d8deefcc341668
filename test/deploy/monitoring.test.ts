import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';

import { parser } from '@prometheus-io/lezer-promql';
import { beforeAll, describe, expect, it } from 'vitest';

import { createNames } from '@app/contracts';

import { formatProblems, validateK8sObjects } from './k8s-schema.js';
import {
  containersOf,
  describeObject,
  findObject,
  KUSTOMIZE_TARGETS,
  renderKustomization,
  ROOT_DIR,
  type K8sObject,
} from './manifests.js';
import { SERVICE_NAMES } from './service-env.js';

/**
 * k8s/base/monitoring: the ServiceMonitor, the PrometheusRule and the Grafana dashboard. Schema
 * and strict-field validation of the operator kinds runs with every other object in
 * k8s-manifests.test.ts; this file checks what a schema cannot: every service is scraped, every
 * expression parses, and every metric named in an alert or a panel is one the code registers.
 */

const MONITORING_DIR = 'k8s/base/monitoring';
const DASHBOARD_FILE = join(ROOT_DIR, MONITORING_DIR, 'dashboards/voice-platform.json');

/**
 * Metrics that no service of this repository exports, and who does. Anything else named in an
 * expression must be registered in services/ or packages/ (or be a prom-client default metric).
 */
const EXTERNAL_METRICS: Readonly<Record<string, string>> = {
  up: 'Prometheus, one per scrape target',
};

// --- What the code registers --------------------------------------------------------------

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules' && entry.name !== 'generated')
        out.push(...sourceFiles(path));
    } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) {
      out.push(path);
    }
  }
  return out;
}

/** Sample names a metric of this type is exposed under. */
function sampleNames(type: string, name: string): string[] {
  if (type === 'Histogram') return [`${name}_bucket`, `${name}_count`, `${name}_sum`];
  if (type === 'Summary') return [name, `${name}_count`, `${name}_sum`];
  return [name];
}

/** `new Counter({ name: '…' })` and friends in every services/* and packages/* source file. */
function registeredMetrics(): Map<string, string> {
  const found = new Map<string, string>();
  const roots = ['services', 'packages'].flatMap((top) =>
    readdirSync(join(ROOT_DIR, top), { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => join(ROOT_DIR, top, d.name, 'src')),
  );
  const registration =
    /new (Counter|Gauge|Histogram|Summary)\s*(?:<[^>]*>)?\(\s*\{\s*name:\s*'([a-zA-Z_:][\w:]*)'/g;
  for (const root of roots) {
    let files: string[];
    try {
      files = sourceFiles(root);
    } catch {
      continue; // a package without src/
    }
    for (const file of files) {
      for (const m of readFileSync(file, 'utf8').matchAll(registration)) {
        const [, type = '', name = ''] = m;
        for (const sample of sampleNames(type, name)) found.set(sample, relative(ROOT_DIR, file));
      }
    }
  }
  return found;
}

interface DefaultMetricsModule {
  Registry: new () => { getMetricsAsJSON(): Promise<{ name: string; type: string }[]> };
  collectDefaultMetrics(opts: { register: unknown }): void;
}

/** prom-client's default metrics (process_*, nodejs_*), which packages/platform collects. */
async function defaultMetrics(): Promise<string[]> {
  const require = createRequire(join(ROOT_DIR, 'packages/platform/package.json'));
  const prom = require('prom-client') as DefaultMetricsModule;
  const registry = new prom.Registry();
  prom.collectDefaultMetrics({ register: registry });
  const metrics = await registry.getMetricsAsJSON();
  return metrics.flatMap((m) =>
    sampleNames(
      m.type === 'histogram' ? 'Histogram' : m.type === 'summary' ? 'Summary' : '',
      m.name,
    ),
  );
}

// --- PromQL -------------------------------------------------------------------------------

interface ParsedExpr {
  errors: string[];
  metrics: string[];
  /** Values matched against `stream` (alternatives of a regex split on `|`). */
  streams: string[];
}

function parsePromQL(expr: string): ParsedExpr {
  const errors: string[] = [];
  const metrics: string[] = [];
  const streams: string[] = [];
  const text = (from: number, to: number) => expr.slice(from, to);
  parser.parse(expr).iterate({
    enter(node) {
      if (node.type.isError)
        errors.push(`syntax error at ${node.from}: ${text(node.from, node.from + 20)}`);
      if (node.name === 'Identifier' && node.node.parent?.name === 'VectorSelector') {
        metrics.push(text(node.from, node.to));
      }
      if (node.name === 'UnquotedLabelMatcher') {
        const m = /^stream\s*=~?\s*"([^"]*)"$/.exec(text(node.from, node.to));
        if (m?.[1]) streams.push(...m[1].split('|'));
      }
    },
  });
  return { errors, metrics, streams };
}

// --- Rendered objects -----------------------------------------------------------------------

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
}
interface RuleSpec {
  groups: { name: string; rules: Rule[] }[];
}
interface Selector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}
interface ServiceMonitorSpec {
  selector: Selector;
  namespaceSelector?: { any?: boolean; matchNames?: string[] };
  endpoints: { port?: string; path?: string }[];
}
interface Panel {
  title?: string;
  type?: string;
  datasource?: unknown;
  targets?: { expr?: string; refId?: string }[];
  panels?: Panel[];
}

function selects(selector: Selector, labels: Record<string, string>): boolean {
  for (const [k, v] of Object.entries(selector.matchLabels ?? {}))
    if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const value = labels[e.key];
    const ok =
      e.operator === 'In'
        ? value !== undefined && (e.values ?? []).includes(value)
        : e.operator === 'NotIn'
          ? value === undefined || !(e.values ?? []).includes(value)
          : e.operator === 'Exists'
            ? value !== undefined
            : value === undefined;
    if (!ok) return false;
  }
  return true;
}

const rendered = new Map<string, K8sObject[]>();
/** The kustomize targets that include k8s/base/monitoring. */
let monitored: string[] = [];

function allPanels(panels: readonly Panel[]): Panel[] {
  return panels.flatMap((p) => [p, ...allPanels(p.panels ?? [])]);
}

function dashboardExprs(dashboard: { panels?: Panel[] }): { where: string; expr: string }[] {
  return allPanels(dashboard.panels ?? []).flatMap((p) =>
    (p.targets ?? []).map((t) => ({ where: `panel "${p.title}" ${t.refId}`, expr: t.expr ?? '' })),
  );
}

function ruleExprs(objects: readonly K8sObject[]): { where: string; expr: string }[] {
  return objects
    .filter((o) => o.kind === 'PrometheusRule')
    .flatMap((o) =>
      (o.spec as RuleSpec).groups.flatMap((g) =>
        g.rules.map((r) => ({
          where: `${describeObject(o)} ${r.alert ?? r.record}`,
          expr: r.expr,
        })),
      ),
    );
}

const dashboard = JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as { panels?: Panel[] };

beforeAll(async () => {
  await Promise.all(
    [...KUSTOMIZE_TARGETS, MONITORING_DIR].map(async (t) =>
      rendered.set(t, await renderKustomization(t)),
    ),
  );
  monitored = KUSTOMIZE_TARGETS.filter((t) =>
    rendered.get(t)?.some((o) => o.kind === 'ServiceMonitor'),
  );
});

function objectsOf(target: string): K8sObject[] {
  const objects = rendered.get(target);
  if (!objects) throw new Error(`${target} was not rendered`);
  return objects;
}

describe('k8s monitoring', () => {
  it('keeps the Prometheus Operator kinds out of the base and in the production overlay', () => {
    const kinds = new Set(objectsOf('k8s/base').map((o) => o.kind));
    expect(kinds.has('ServiceMonitor') || kinds.has('PrometheusRule')).toBe(false);
    expect(monitored).toContain('k8s/overlays/prod');
  });

  // Compiling the operator's schemas is CPU-bound: seconds on a busy machine.
  it(
    'schema-checks ServiceMonitor and PrometheusRule, rejecting unknown fields',
    { timeout: 30_000 },
    async () => {
      const objects = objectsOf(MONITORING_DIR);
      expect(formatProblems(await validateK8sObjects(objects))).toBe('');
      const sm = findObject(objects, 'ServiceMonitor', 'voice-platform');
      const typo = { ...sm, spec: { ...(sm.spec as object), endpoint: [] } };
      const problems = await validateK8sObjects([typo]);
      expect(formatProblems(problems)).toMatch(/endpoint/);
    },
  );

  it('scrapes /metrics on the http port of every service', () => {
    for (const target of monitored) {
      const objects = objectsOf(target);
      const monitors = objects.filter((o) => o.kind === 'ServiceMonitor');
      for (const name of SERVICE_NAMES) {
        const service = findObject(objects, 'Service', name);
        const ports = ((service.spec as { ports: { name?: string }[] }).ports ?? []).map(
          (p) => p.name,
        );
        const scraped = monitors.some((m) => {
          const spec = m.spec as ServiceMonitorSpec;
          const sameNamespace =
            spec.namespaceSelector?.any === true ||
            (spec.namespaceSelector?.matchNames ?? [m.metadata.namespace]).includes(
              service.metadata.namespace,
            );
          return (
            sameNamespace &&
            selects(spec.selector, service.metadata.labels ?? {}) &&
            spec.endpoints.some(
              (e) =>
                e.port !== undefined &&
                ports.includes(e.port) &&
                (e.path ?? '/metrics') === '/metrics',
            )
          );
        });
        expect(scraped, `${target}: Service/${name} is not scraped at /metrics`).toBe(true);
      }
    }
  });

  it('has alerts for every risk the issue names', () => {
    const alerts = ruleExprs(objectsOf(MONITORING_DIR)).map((r) => r.where.split(' ')[1]);
    expect(alerts).toEqual(
      expect.arrayContaining([
        'VoicePlatformServiceDown',
        'CallBridgeOwnerHeartbeatMissing',
        'CallBridgeCapacityNearFull',
        'CallBridgeProviderErrorRateHigh',
        'CallSetupSlow',
        'WebhookSignatureFailures',
        'CallsConsumerLag',
        'CallRequestsConsumerLag',
      ]),
    );
  });

  it('parses PromQL strictly enough to catch a broken expression', () => {
    expect(parsePromQL('sum(rate(http_requests_total[5m])').errors).not.toEqual([]);
    expect(parsePromQL('a{stream=~"X|Y"} and on() b').metrics).toEqual(['a', 'b']);
    expect(parsePromQL('a{stream=~"X|Y"}').streams).toEqual(['X', 'Y']);
    expect(parsePromQL('a{stream_name="X"}').streams).toEqual([]);
  });

  it('parses every alert and panel expression as PromQL', () => {
    const exprs = [...ruleExprs(objectsOf(MONITORING_DIR)), ...dashboardExprs(dashboard)];
    expect(exprs.length).toBeGreaterThan(10);
    const problems = exprs.flatMap(({ where, expr }) => {
      if (expr.trim() === '') return [`${where}: empty expression`];
      return parsePromQL(expr).errors.map((e) => `${where}: ${e}`);
    });
    expect(problems).toEqual([]);
  });

  it('names only metrics the services register (or a known exporter does)', async () => {
    const known = registeredMetrics();
    expect(known.get('call_bridge_live_calls')).toBe('services/call-bridge/src/metrics.ts');
    const defaults = new Set(await defaultMetrics());
    const exprs = [...ruleExprs(objectsOf(MONITORING_DIR)), ...dashboardExprs(dashboard)];
    const unknown = exprs.flatMap(({ where, expr }) =>
      parsePromQL(expr)
        .metrics.filter((m) => !known.has(m) && !defaults.has(m) && !(m in EXTERNAL_METRICS))
        .map((m) => `${where}: ${m}`),
    );
    expect(unknown).toEqual([]);
  });

  it('selects JetStream streams that exist (NATS_PREFIX empty)', () => {
    const names = createNames('');
    const streams = new Set([
      ...Object.values(names.streams).map((s) => s.name),
      ...Object.values(names.kv).map((b) => `KV_${b.name}`),
    ]);
    // The generated ConfigMap's name has a content hash suffix.
    const config = objectsOf('k8s/base').find(
      (o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('voice-platform-config'),
    );
    expect((config?.data as Record<string, string> | undefined)?.NATS_PREFIX).toBe('');
    const exprs = [...ruleExprs(objectsOf(MONITORING_DIR)), ...dashboardExprs(dashboard)];
    const named = exprs.flatMap((e) => parsePromQL(e.expr).streams);
    expect(named).toEqual(expect.arrayContaining(['CALLS', 'CALL_REQUESTS']));
    expect(named.filter((s) => !streams.has(s))).toEqual([]);
  });

  it("alerts on bridge capacity at 80% of each pod's own MAX_CALLS", () => {
    // The limit comes from the pod (call_bridge_max_calls, set from MAX_CALLS), so the rule
    // cannot drift from what a Deployment or overlay sets.
    const source = readFileSync(join(ROOT_DIR, 'services/call-bridge/src/main.ts'), 'utf8');
    expect(source).toMatch(/maxCalls:\s*ctx\.config\.MAX_CALLS/);
    for (const target of monitored) {
      const objects = objectsOf(target);
      const bridge = findObject(objects, 'Deployment', 'call-bridge');
      const env = containersOf([bridge]).flatMap(({ c }) => c.env ?? []);
      expect(Number(env.find((e) => e.name === 'MAX_CALLS')?.value)).toBeGreaterThan(0);
      const rule = ruleExprs(objects).find((r) => r.where.endsWith('CallBridgeCapacityNearFull'));
      expect(rule?.expr).toMatch(
        /call_bridge_live_calls\s*\/\s*call_bridge_max_calls\)\s*>=\s*0\.8/,
      );
    }
  });

  it('alerts on consumer lag and heartbeats from metrics the owning services export', () => {
    const rules = ruleExprs(objectsOf(MONITORING_DIR));
    const exprOf = (alert: string) => rules.find((r) => r.where.endsWith(` ${alert}`))?.expr ?? '';
    expect(parsePromQL(exprOf('CallsConsumerLag')).metrics).toEqual([
      'nats_consumer_pending_messages',
    ]);
    expect(parsePromQL(exprOf('CallsConsumerLag')).streams).toEqual(['CALLS']);
    expect(parsePromQL(exprOf('CallRequestsConsumerLag')).streams).toEqual(['CALL_REQUESTS']);
    expect(parsePromQL(exprOf('CallBridgeOwnerHeartbeatMissing')).metrics).toEqual([
      'call_bridge_owner_heartbeat_age_seconds',
    ]);
    expect(parsePromQL(exprOf('WebhookSignatureFailures')).metrics).toEqual([
      'gateway_webhook_signature_failures_total',
    ]);
    // Each stream's durable consumers are sampled by the service that owns them.
    const main = (service: string) =>
      readFileSync(join(ROOT_DIR, `services/${service}/src/main.ts`), 'utf8');
    const gatewayMetrics = readFileSync(join(ROOT_DIR, 'services/gateway/src/metrics.ts'), 'utf8');
    expect(gatewayMetrics).toMatch(/consumer: names\.consumers\.callRecords/);
    expect(main('gateway')).toMatch(/createGatewayMetrics\(/);
    expect(main('campaign-scheduler')).toMatch(/consumer: ctx\.names\.consumers\.callRequests/);
    expect(main('handoff')).toMatch(/consumer: ctx\.names\.consumers\.handoffOnCallEnded/);
  });

  it('matches webhook routes the gateway serves', () => {
    const routes = readdirSync(join(ROOT_DIR, 'services/gateway/src/routes'))
      .map((f) => readFileSync(join(ROOT_DIR, 'services/gateway/src/routes', f), 'utf8'))
      .join('\n');
    expect(routes).toContain("app.post('/twilio/voice'");
    expect(routes).toContain("app.post('/openai/webhook'");
  });

  it('ships the dashboard as a grafana_dashboard ConfigMap, identical to the JSON file', () => {
    for (const target of [MONITORING_DIR, ...monitored]) {
      const cm = findObject(objectsOf(target), 'ConfigMap', 'voice-platform-dashboard');
      expect(cm.metadata.labels?.grafana_dashboard).toBe('1');
      const data = cm.data as Record<string, string>;
      expect(data['voice-platform.json']).toBe(readFileSync(DASHBOARD_FILE, 'utf8'));
    }
  });

  it('gives every dashboard panel a data source and a query', () => {
    const panels = allPanels(dashboard.panels ?? []).filter((p) => p.type !== 'row');
    expect(panels.length).toBeGreaterThan(5);
    for (const p of panels) {
      expect(p.datasource, `panel "${p.title}"`).toBeTruthy();
      expect(p.targets?.length, `panel "${p.title}"`).toBeGreaterThan(0);
      for (const t of p.targets ?? []) expect(t.expr, `panel "${p.title}"`).toBeTruthy();
    }
  });
});
