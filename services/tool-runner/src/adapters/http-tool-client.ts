/**
 * Runs an HTTP tool: sends the model's arguments to the tool's URL and returns the response to
 * give the model.
 *
 * - Body: POST/PUT/PATCH send the arguments as JSON; GET/DELETE send them as query parameters
 *   (non-string values JSON-encoded).
 * - Headers: the tool's own, plus `Idempotency-Key` and `X-Tool-Invocation-Id` (the model's
 *   call id: the same invocation retried carries the same key), `X-Call-Id`.
 * - Signature (when the tool has a secret): `X-Signature-Timestamp: <unix s>` and
 *   `X-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<signed>")>`, where `<signed>` is
 *   the body, or for GET/DELETE the path with its query. The receiver recomputes it and refuses
 *   old timestamps (replay).
 * - Each attempt has the tool's timeout; network errors, timeouts, 429 and 5xx are retried
 *   (idempotent methods, or any with `retryNonIdempotent`) up to `maxRetries` times with a
 *   doubling pause, within the invocation's overall deadline (`signal`).
 * - The body is read up to `maxResponseBytes`; beyond that the call fails (OUTPUT_TOO_LARGE).
 * - Connections go through the `dispatcher` (the SSRF guard, `guarded-dispatcher.ts`): a URL
 *   that is, or resolves to, an address the deployment does not allow fails at once with
 *   DESTINATION_NOT_ALLOWED, without retries and without a byte sent to it.
 * - Redirects are not followed: a 3xx fails the call (TOOL_FAILED). Following one would send
 *   the tool's headers (API keys) and signature to whatever origin the backend names, and turn
 *   a POST into a GET; the tool's URL must be its final address.
 */
import { createHmac } from 'node:crypto';

import { fetch, type Dispatcher, type Response } from 'undici';

import { type Logger } from '@app/platform';
import { IDEMPOTENT_METHODS, type HttpToolDefinition } from '@app/tools';

import { ToolErrorCode, ToolFailure } from '../domain/tool-errors.js';
import { DestinationNotAllowedError } from './guarded-dispatcher.js';

export interface HttpToolRequest {
  readonly tool: HttpToolDefinition;
  readonly args: Record<string, unknown>;
  readonly invocationId: string;
  readonly callId: string;
  /** Aborted when the invocation's deadline passes. */
  readonly signal: AbortSignal;
}

export interface HttpToolClientOptions {
  /** Makes the connections: the SSRF guard (`guardedDispatcher`). */
  readonly dispatcher: Dispatcher;
  /** Tells the admin which tool's address was refused, and why. */
  readonly log?: Logger;
  /** @defaultValue `Date.now` (signature timestamps) */
  readonly now?: () => number;
  /** First pause between attempts, doubled each time. @defaultValue 200 */
  readonly retryBaseMs?: number;
}

/** Computes the signature header value the receiver must find. */
export function signHttpToolRequest(secret: string, timestampSec: number, signed: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestampSec}.${signed}`).digest('hex')}`;
}

const HAS_BODY = new Set(['POST', 'PUT', 'PATCH']);

function buildRequest(req: HttpToolRequest, nowMs: number) {
  const { tool, args } = req;
  const url = new URL(tool.url);
  let body: string | undefined;
  if (HAS_BODY.has(tool.method)) {
    body = JSON.stringify(args);
  } else {
    for (const [k, v] of Object.entries(args)) {
      url.searchParams.set(k, typeof v === 'string' ? v : JSON.stringify(v));
    }
  }
  const headers: Record<string, string> = {
    ...tool.headers,
    accept: 'application/json, text/plain;q=0.9, */*;q=0.5',
    'idempotency-key': req.invocationId,
    'x-tool-invocation-id': req.invocationId,
    'x-call-id': req.callId,
  };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (tool.signingSecret) {
    const ts = Math.floor(nowMs / 1_000);
    headers['x-signature-timestamp'] = String(ts);
    headers['x-signature'] = signHttpToolRequest(
      tool.signingSecret,
      ts,
      body ?? `${url.pathname}${url.search}`,
    );
  }
  return { url, headers, body };
}

/** Reads at most `limit` bytes of the body; more is OUTPUT_TOO_LARGE. */
async function readLimited(res: Response, limit: number): Promise<string> {
  const declared = Number(res.headers.get('content-length'));
  const tooLarge = () =>
    new ToolFailure(
      ToolErrorCode.OutputTooLarge,
      `the tool's response is larger than ${limit} bytes; it was not used`,
    );
  if (Number.isFinite(declared) && declared > limit) {
    await res.body?.cancel();
    throw tooLarge();
  }
  if (!res.body) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      throw tooLarge();
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function parseBody(text: string, contentType: string | null): unknown {
  if (text === '') return null;
  if (contentType?.includes('json')) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text;
    }
  }
  return text;
}

/** The first 300 characters of an error body, for the model. */
const excerpt = (text: string) => (text.length > 300 ? `${text.slice(0, 300)}…` : text);

/** The guard's refusal behind a fetch failure (fetch's TypeError has it as `cause`). */
function refusalOf(err: unknown): DestinationNotAllowedError | undefined {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (e instanceof DestinationNotAllowedError) return e;
  }
  return undefined;
}

/** The origin a redirect points at, for the log (never its path or query: they may hold tokens). */
function redirectOrigin(location: string | null, base: URL): string | undefined {
  if (!location || !URL.canParse(location, base.href)) return undefined;
  return new URL(location, base).origin;
}

class RetryableAttemptError extends Error {
  constructor(
    message: string,
    readonly timedOut = false,
  ) {
    super(message);
  }
}

export function httpToolClient(options: HttpToolClientOptions) {
  const { dispatcher, log } = options;
  const now = options.now ?? Date.now;
  const retryBaseMs = options.retryBaseMs ?? 200;

  async function attempt(req: HttpToolRequest): Promise<unknown> {
    const { url, headers, body } = buildRequest(req, now());
    const signal = AbortSignal.any([req.signal, AbortSignal.timeout(req.tool.timeoutMs)]);
    let res: Response;
    try {
      res = await fetch(url, {
        method: req.tool.method,
        headers,
        body,
        signal,
        dispatcher,
        redirect: 'manual',
      });
    } catch (err) {
      if (req.signal.aborted) throw err;
      const refused = refusalOf(err);
      if (refused) {
        log?.warn(
          {
            tool: req.tool.name,
            host: refused.host,
            address: refused.address,
            range: refused.range,
          },
          'http tool destination not allowed',
        );
        throw new ToolFailure(
          ToolErrorCode.DestinationNotAllowed,
          'this tool cannot be used: its URL points at a private or internal network address, ' +
            'which this deployment does not allow; do not try again, tell the caller it is not available',
        );
      }
      const timedOut = err instanceof Error && err.name === 'TimeoutError';
      throw new RetryableAttemptError(
        timedOut ? `no answer within ${req.tool.timeoutMs} ms` : 'the tool could not be reached',
        timedOut,
      );
    }
    if (res.status >= 300 && res.status < 400) {
      await res.body?.cancel();
      log?.warn(
        {
          tool: req.tool.name,
          status: res.status,
          redirectTo: redirectOrigin(res.headers.get('location'), url),
        },
        'http tool answered a redirect; redirects are not followed',
      );
      throw new ToolFailure(
        ToolErrorCode.HandlerError,
        `the tool answered HTTP ${res.status} (a redirect, which is not followed); tell the caller it is not available`,
      );
    }
    const text = await readLimited(res, req.tool.maxResponseBytes);
    if (res.status >= 500 || res.status === 429) {
      throw new RetryableAttemptError(`the tool answered HTTP ${res.status}: ${excerpt(text)}`);
    }
    if (res.status >= 400) {
      throw new ToolFailure(
        ToolErrorCode.HandlerError,
        `the tool answered HTTP ${res.status}: ${excerpt(text)}`,
      );
    }
    return parseBody(text, res.headers.get('content-type'));
  }

  return async function callHttpTool(req: HttpToolRequest): Promise<unknown> {
    const { tool } = req;
    const mayRetry = IDEMPOTENT_METHODS.has(tool.method) || tool.retryNonIdempotent;
    const attempts = mayRetry ? tool.maxRetries + 1 : 1;
    let last: RetryableAttemptError | undefined;
    for (let n = 0; n < attempts; n++) {
      if (n > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, retryBaseMs * 2 ** (n - 1));
          req.signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), {
            once: true,
          });
        });
        if (req.signal.aborted) break;
      }
      try {
        return await attempt(req);
      } catch (err) {
        if (!(err instanceof RetryableAttemptError)) throw err;
        last = err;
      }
    }
    if (req.signal.aborted) req.signal.throwIfAborted();
    const tries = attempts > 1 ? ` (${attempts} attempts)` : '';
    throw new ToolFailure(
      last?.timedOut ? ToolErrorCode.Timeout : ToolErrorCode.HandlerError,
      `${last?.message ?? 'the tool failed'}${tries}`,
      true,
    );
  };
}

export type CallHttpTool = ReturnType<typeof httpToolClient>;
