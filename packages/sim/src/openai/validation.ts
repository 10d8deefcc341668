/**
 * zod results → the Realtime API's validation errors (openai-realtime.md §9):
 * `unknown_parameter` for keys the API does not know, `missing_required_parameter` for absent
 * required ones, `invalid_value` otherwise; `param` is the dotted path (`session.audio.input`).
 */
import type { z } from 'zod';

import { ClientEventError, ERROR_CODE } from './errors.js';

function valueAt(root: unknown, path: ReadonlyArray<PropertyKey>): unknown {
  let cur: unknown = root;
  for (const key of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[key];
  }
  return cur;
}

/** Parses `input` with `schema` or throws the API-shaped {@link ClientEventError} of its first issue. */
export function parseStrict<S extends z.ZodType>(
  schema: S,
  input: unknown,
  prefix: string,
): z.output<S> {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new ClientEventError(
      ERROR_CODE.invalidValue,
      `Invalid type for '${prefix || 'body'}': expected an object, but got ${Array.isArray(input) ? 'an array' : typeof input}.`,
      prefix || null,
    );
  }
  const res = schema.safeParse(input);
  if (res.success) return res.data;
  const issue = res.error.issues[0];
  const path = issue?.path ?? [];
  const param = [prefix, ...path.map(String)].filter(Boolean).join('.');
  if (issue?.code === 'unrecognized_keys') {
    const key = [param, issue.keys[0] ?? ''].filter(Boolean).join('.');
    throw new ClientEventError(ERROR_CODE.unknownParameter, `Unknown parameter: '${key}'.`, key);
  }
  const value = valueAt(input, path);
  if (value === undefined) {
    throw new ClientEventError(
      ERROR_CODE.missingRequiredParameter,
      `Missing required parameter: '${param}'.`,
      param,
    );
  }
  throw new ClientEventError(
    ERROR_CODE.invalidValue,
    `Invalid value for '${param}': ${JSON.stringify(value)}. ${issue?.message ?? ''}`.trim(),
    param,
  );
}
