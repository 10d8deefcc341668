import { join } from 'node:path';

import ts from 'typescript';

import { describeObject, ROOT_DIR, type K8sObject } from './manifests.js';

/**
 * Validates rendered Kubernetes objects against the Kubernetes API schemas, offline, in two
 * passes over the `kubernetes-models` package (generated from the official Kubernetes OpenAPI
 * spec, a schema and a TypeScript interface per API type):
 *
 * 1. JSON Schema: each object goes through its model's `validate()` (the OpenAPI definitions
 *    compiled with ajv): types, required fields, formats, enums.
 * 2. Strict fields: those JSON Schemas leave objects open (the API server accepts unknown
 *    fields), so a misspelt field would pass. `kubectl apply` rejects it (strict field
 *    validation), and so does this pass: each object is type-checked, as an object literal,
 *    against its model's interface; TypeScript's excess-property check rejects any field that
 *    the API type does not declare, at every depth.
 *
 * Prometheus Operator kinds (`monitoring.coreos.com/v1`: ServiceMonitor, PrometheusRule) come
 * from `@kubernetes-models/prometheus-operator`, generated the same way from the operator's CRDs.
 *
 * An apiVersion/kind the packages have no model for is an error, never skipped.
 */

/** One problem: which object, and what is wrong with it. */
export interface SchemaProblem {
  object: string;
  message: string;
}

interface Model {
  validate(): void;
}
type ModelClass = new (data: unknown) => Model;

/** API groups served by a CRD, and the package holding their models. */
const CRD_MODEL_PACKAGES: Readonly<Record<string, string>> = {
  'monitoring.coreos.com': '@kubernetes-models/prometheus-operator',
};

/** The module with the models of `apiVersion`, e.g. `kubernetes-models/apps/v1`. */
function modelModule(apiVersion: string): string {
  const group = apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '';
  return `${CRD_MODEL_PACKAGES[group] ?? 'kubernetes-models'}/${apiVersion}`;
}

async function loadModel(apiVersion: string, kind: string): Promise<ModelClass | undefined> {
  // `<package>/<group>/<version>` exports one class per kind (core group: `v1`).
  const specifier = modelModule(apiVersion);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(/* @vite-ignore */ specifier)) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const cls = mod[kind];
  return typeof cls === 'function' ? (cls as ModelClass) : undefined;
}

async function validateWithJsonSchemas(objects: readonly K8sObject[]): Promise<SchemaProblem[]> {
  const problems: SchemaProblem[] = [];
  for (const obj of objects) {
    const Model = await loadModel(obj.apiVersion, obj.kind);
    if (!Model) {
      problems.push({
        object: describeObject(obj),
        message: `no schema for apiVersion ${obj.apiVersion}, kind ${obj.kind}`,
      });
      continue;
    }
    try {
      new Model(obj).validate();
    } catch (err) {
      problems.push({ object: describeObject(obj), message: (err as Error).message });
    }
  }
  return problems;
}

/** Where the generated source pretends to live, so `kubernetes-models` resolves from the root. */
const VIRTUAL_FILE = join(ROOT_DIR, 'test/deploy/__rendered-manifests__.ts');

const COMPILER_OPTIONS: ts.CompilerOptions = {
  strict: true,
  noEmit: true,
  skipLibCheck: true,
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  lib: ['lib.es2022.d.ts'],
  types: [],
};

/** Parsed declaration files, shared by every check in this process (they never change). */
const sourceFileCache = new Map<string, ts.SourceFile>();

function createHost(source: string): ts.CompilerHost {
  const host = ts.createCompilerHost(COMPILER_OPTIONS);
  const getSourceFile = host.getSourceFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (file) => file === VIRTUAL_FILE || fileExists(file);
  host.readFile = (file) => (file === VIRTUAL_FILE ? source : ts.sys.readFile(file));
  host.getSourceFile = (file, languageVersion, ...rest) => {
    if (file === VIRTUAL_FILE) return ts.createSourceFile(file, source, languageVersion, true);
    let sf = sourceFileCache.get(file);
    if (!sf) {
      sf = getSourceFile(file, languageVersion, ...rest);
      if (sf) sourceFileCache.set(file, sf);
    }
    return sf;
  };
  return host;
}

function validateFieldsStrictly(objects: readonly K8sObject[]): SchemaProblem[] {
  const typeAlias = new Map<string, string>();
  const imports: string[] = [];
  const declarations = objects.map((obj, i) => {
    const key = `${obj.apiVersion} ${obj.kind}`;
    let alias = typeAlias.get(key);
    if (!alias) {
      alias = `T${typeAlias.size}`;
      typeAlias.set(key, alias);
      imports.push(
        `import type { I${obj.kind} as ${alias} } from ${JSON.stringify(`${modelModule(obj.apiVersion)}/${obj.kind}`)};`,
      );
    }
    // One object per line, so a diagnostic's line says which object it is about.
    return `export const o${i}: ${alias} = ${JSON.stringify(obj)};`;
  });
  const source = [...imports, ...declarations].join('\n');
  const program = ts.createProgram([VIRTUAL_FILE], COMPILER_OPTIONS, createHost(source));

  return ts.getPreEmitDiagnostics(program).map((d) => {
    const message = ts.flattenDiagnosticMessageText(d.messageText, ' ');
    if (d.file?.fileName !== VIRTUAL_FILE || d.start === undefined) {
      return { object: '(schema setup)', message };
    }
    const line = d.file.getLineAndCharacterOfPosition(d.start).line - imports.length;
    const obj = objects[line];
    return { object: obj ? describeObject(obj) : '(schema setup)', message };
  });
}

/**
 * Validates every object against its Kubernetes API schema, rejecting unknown fields.
 *
 * @returns Every problem found; empty when all objects are valid.
 */
export async function validateK8sObjects(objects: readonly K8sObject[]): Promise<SchemaProblem[]> {
  const schemaProblems = await validateWithJsonSchemas(objects);
  return [...schemaProblems, ...validateFieldsStrictly(objects)];
}

/** Problems as one line each, for assertion messages. */
export function formatProblems(problems: readonly SchemaProblem[]): string {
  return problems.map((p) => `${p.object}: ${p.message}`).join('\n');
}
