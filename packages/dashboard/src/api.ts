/**
 * The gateway's JSON API as the signed-in user: the session cookie rides along
 * (`same-origin`), writes carry the session's CSRF token, and a 401 anywhere means the session
 * ended, so the app goes back to sign-in.
 */

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly body: unknown,
  ) {
    super(message);
  }
}

let csrfToken: string | null = null;
let onUnauthorized: () => void = () => undefined;

export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

export function whenUnauthorized(handler: () => void): void {
  onUnauthorized = handler;
}

/** `?a=1&b=2` from the set values only; '' when none. */
export function queryString(params: Record<string, string | number | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

/** The `error` of a refusal, with the first issues' messages when there are any. */
function describe(status: number, body: unknown): string {
  if (body && typeof body === 'object' && 'error' in body) {
    const { error, issues } = body as { error: unknown; issues?: Array<{ message?: string }> };
    const details = Array.isArray(issues)
      ? issues
          .map((i) => i.message)
          .filter(Boolean)
          .slice(0, 3)
      : [];
    return [String(error), ...details].join(': ');
  }
  return `request failed (${status})`;
}

export async function api<T>(
  path: string,
  init: { method?: string; body?: unknown; signal?: AbortSignal } = {},
): Promise<T> {
  const method = init.method ?? 'GET';
  const headers: Record<string, string> = { accept: 'application/json' };
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['x-csrf-token'] = csrfToken;
  const res = await fetch(path, {
    method,
    headers,
    credentials: 'same-origin',
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
    ...(init.signal ? { signal: init.signal } : {}),
  });
  const text = await res.text();
  let body: unknown = undefined;
  if (text) {
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
  }
  if (!res.ok) {
    // The sign-in request itself answers 401 for a wrong password: that is not a lost session.
    if (res.status === 401 && path !== '/v1/session') onUnauthorized();
    throw new ApiError(res.status, describe(res.status, body), body);
  }
  return body as T;
}

/** A list page of the /v1 resources. */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface User {
  id: string;
  email: string;
  name: string | null;
  role: string;
}

export interface SessionInfo {
  user: User;
  csrfToken: string;
}

export interface CallSummary {
  id: string;
  direction: string;
  transport: string;
  fromNumber: string | null;
  toNumber: string | null;
  status: string;
  endReason: string | null;
  agentId: string | null;
  agentName: string | null;
  campaignId: string | null;
  campaignName: string | null;
  createdAt: string;
  answeredAt: string | null;
  endedAt: string | null;
  durationMs: number | null;
  setupMs: number | null;
}

export interface CallEventView {
  id?: string;
  type: string;
  ts: string;
  data: Record<string, unknown>;
}

export interface TranscriptTurn {
  role: string;
  text: string;
  startedAt?: string | null;
  sequence?: number;
}

export interface CallDetail extends CallSummary {
  events: CallEventView[];
  transcript: TranscriptTurn[];
  toolInvocations: Array<Record<string, unknown>>;
  handoffs: Array<Record<string, unknown>>;
}

/** `GET /v1/stats`: the gateway's schema, types only (no zod in the bundle). */
export type { CallStats as Stats, StatsPoint } from '@app/contracts';

export interface CampaignProgress {
  total: number;
  byStatus: Record<string, number>;
  attempts: number;
  live: number;
  remaining: number;
  estimatedCompletionAt: string | null;
}

export interface Campaign {
  id: string;
  name: string;
  agentId: string;
  status: string;
  callsPerMinute: number;
  maxConcurrentCalls: number;
  createdAt: string;
  progress?: CampaignProgress;
}

export interface HumanAgent {
  id: string;
  name: string;
  skills: string[];
  phoneNumber: string | null;
  sipUri: string | null;
  twilioClientIdentity: string | null;
  status: string;
  availableSince: string | null;
  lastSeenAt: string | null;
}

export interface NamedRef {
  id: string;
  name: string;
}
