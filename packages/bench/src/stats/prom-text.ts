/**
 * A reader of the Prometheus text exposition format (what `/metrics` serves), enough for the
 * bench: sample lines with labels and a value; comments and timestamps are skipped.
 */

export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

function parseValue(text: string): number {
  if (text === '+Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  return Number(text);
}

export function parsePromText(text: string): PromSample[] {
  const out: PromSample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = LINE.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(LABEL)) {
      labels[l[1] as string] = (l[2] as string).replace(/\\(.)/g, (_s, c: string) =>
        c === 'n' ? '\n' : c,
      );
    }
    out.push({ name: m[1] as string, labels, value: parseValue(m[3] as string) });
  }
  return out;
}

/** Whether `labels` has every label of `match` with the same value. */
export function labelsMatch(
  labels: Record<string, string>,
  match: Record<string, string>,
): boolean {
  return Object.entries(match).every(([k, v]) => labels[k] === v);
}

/** Sum of the samples named `name` whose labels match (a counter or gauge across label sets). */
export function sampleValue(
  samples: readonly PromSample[],
  name: string,
  match: Record<string, string> = {},
): number {
  let total = 0;
  for (const s of samples) if (s.name === name && labelsMatch(s.labels, match)) total += s.value;
  return total;
}
