/**
 * Reads a V8 `.cpuprofile` (what `node --cpu-prof` writes) into self time per function and per
 * origin (our code by package, each dependency, Node's internals, GC, idle), so a profile of the
 * bridge under load says where its CPU goes without opening DevTools.
 */
import { z } from 'zod';

const ProfileSchema = z.object({
  nodes: z.array(
    z.object({
      id: z.number(),
      callFrame: z.object({
        functionName: z.string(),
        url: z.string(),
        lineNumber: z.number(),
      }),
      children: z.array(z.number()).optional(),
    }),
  ),
  startTime: z.number(),
  endTime: z.number(),
  samples: z.array(z.number()),
  timeDeltas: z.array(z.number()),
});
export type CpuProfile = z.infer<typeof ProfileSchema>;

export interface SelfTime {
  key: string;
  ms: number;
  share: number;
}

export interface ProfileSummary {
  /** Wall time the profile spans, ms. */
  spanMs: number;
  /** Sampled time not idle, ms. */
  busyMs: number;
  byOrigin: SelfTime[];
  byFunction: SelfTime[];
}

export function parseCpuProfile(json: unknown): CpuProfile {
  return ProfileSchema.parse(json);
}

/** Where a function comes from: `(idle)`, `(gc)`, `node:<module>`, a package name, or our file. */
export function originOf(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0]}`;
  const pkg = /node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1] as string;
  const ours = /\/(services|packages)\/([^/]+)\/src\/(.+)$/.exec(url);
  if (ours) return `${ours[1]}/${ours[2]}/${ours[3]}`;
  return url;
}

function shortUrl(url: string): string {
  const i = url.lastIndexOf('node_modules/');
  if (i >= 0)
    return url.slice(i + 'node_modules/'.length).replace(/^\.pnpm\/[^/]+\/node_modules\//, '');
  const ours = /\/((?:services|packages)\/.+)$/.exec(url);
  return ours ? (ours[1] as string) : url;
}

export function summarizeCpuProfile(profile: CpuProfile, top = 40): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  // timeDeltas[i] is the time before sample i; the sample's node ran for the following delta.
  for (let i = 0; i < profile.samples.length; i++) {
    const next = profile.timeDeltas[i + 1] ?? 0;
    const id = profile.samples[i] as number;
    selfUs.set(id, (selfUs.get(id) ?? 0) + Math.max(0, next));
  }
  const origin = new Map<string, number>();
  const fn = new Map<string, number>();
  let idleUs = 0;
  let totalUs = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    totalUs += us;
    if (functionName === '(idle)') idleUs += us;
    const o = originOf(url, functionName);
    origin.set(o, (origin.get(o) ?? 0) + us);
    const key =
      url === ''
        ? functionName
        : `${functionName || '(anonymous)'} ${shortUrl(url)}:${lineNumber + 1}`;
    fn.set(key, (fn.get(key) ?? 0) + us);
  }
  const busyUs = totalUs - idleUs;
  const rank = (m: Map<string, number>, limit: number): SelfTime[] =>
    [...m]
      .filter(([k]) => k !== '(idle)')
      .sort((a, b) => b[1] - a[1])
      .slice(0, limit)
      .map(([key, us]) => ({ key, ms: us / 1_000, share: busyUs > 0 ? us / busyUs : 0 }));
  return {
    spanMs: (profile.endTime - profile.startTime) / 1_000,
    busyMs: busyUs / 1_000,
    byOrigin: rank(origin, top),
    byFunction: rank(fn, top),
  };
}

export function formatProfileSummary(s: ProfileSummary): string {
  const row = (t: SelfTime) =>
    `${(t.share * 100).toFixed(1).padStart(5)} %  ${t.ms.toFixed(0).padStart(7)} ms  ${t.key}`;
  return [
    `span ${(s.spanMs / 1_000).toFixed(1)} s, busy ${(s.busyMs / 1_000).toFixed(1)} s (self time, idle excluded)`,
    '',
    'by origin:',
    ...s.byOrigin.map(row),
    '',
    'by function:',
    ...s.byFunction.map(row),
  ].join('\n');
}
