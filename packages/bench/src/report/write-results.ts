/**
 * Writes a suite result as `<date>-<host>[-<mode>].json`, `.md` and `.png` into a folder,
 * formatted with the repository's prettier settings so the committed files stay clean.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { format, resolveConfig } from 'prettier';

import type { SuiteResult } from '../results.js';
import { renderChart } from './chart.js';
import { renderMarkdown } from './markdown.js';

export interface WrittenFiles {
  json: string;
  markdown: string;
  chart: string;
}

export function resultBaseName(result: SuiteResult): string {
  const host = result.machine.host.toLowerCase().replace(/[^a-z0-9-]+/g, '-');
  const mode = result.mode === 'full' ? '' : `-${result.mode}`;
  return `${result.startedAt.slice(0, 10)}-${host}${mode}`;
}

async function pretty(text: string, filepath: string): Promise<string> {
  const config = (await resolveConfig(filepath)) ?? {};
  return format(text, { ...config, filepath });
}

export async function writeResults(result: SuiteResult, dir: string): Promise<WrittenFiles> {
  await mkdir(dir, { recursive: true });
  const base = resultBaseName(result);
  const files = {
    json: join(dir, `${base}.json`),
    markdown: join(dir, `${base}.md`),
    chart: join(dir, `${base}.png`),
  };
  await writeFile(files.chart, await renderChart(result.sweep.runs));
  await writeFile(files.json, await pretty(JSON.stringify(result), files.json));
  await writeFile(
    files.markdown,
    await pretty(renderMarkdown(result, `${base}.png`), files.markdown),
  );
  return files;
}
