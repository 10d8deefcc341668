/**
 * The app's one connection to `GET /v1/live/events` (server-sent events): the live calls, their
 * events and transcripts as they happen, and handoff notifications. Pages subscribe to it; the
 * browser's EventSource reconnects by itself, and each (re)connect starts with a snapshot.
 */
import { api, type CallEventView, type CallSummary, type NamedRef, type Page } from './api.js';

export interface LiveTurn {
  key: string;
  role: string;
  text: string;
  final: boolean;
}

export interface LiveCall extends CallSummary {
  events: CallEventView[];
  transcript: LiveTurn[];
  /** The full history was loaded from `/v1/calls/:id` (a call that began before we connected). */
  backfilled: boolean;
}

export interface Notification {
  id: number;
  at: string;
  kind: string;
  text: string;
  callId?: string;
  /** The human agent it concerns (the page shows their name). */
  humanAgentId?: string;
}

export type ConnectionState = 'connecting' | 'open' | 'closed';

/** Ended calls stay on the live view a while, so what just happened can still be read. */
const KEEP_ENDED = 20;
const MAX_NOTIFICATIONS = 50;

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

function fromSummary(c: CallSummary): LiveCall {
  return { ...c, events: [], transcript: [], backfilled: false };
}

export class LiveStore {
  calls = new Map<string, LiveCall>();
  notifications: Notification[] = [];
  state: ConnectionState = 'closed';
  private source: EventSource | undefined;
  private listeners = new Set<() => void>();
  private retry: ReturnType<typeof setTimeout> | undefined;
  private noteId = 0;
  private version = 0;
  /** Agent names by id: a `created` event carries only the id. */
  private agentNames = new Map<string, string>();

  constructor(private readonly onSessionLost: () => void) {}

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Changes on every update, for `useSyncExternalStore`-style readers. */
  get snapshotVersion(): number {
    return this.version;
  }

  private changed(): void {
    this.version += 1;
    for (const l of this.listeners) l();
  }

  start(): void {
    if (this.source) return;
    if (this.agentNames.size === 0) {
      api<Page<NamedRef>>('/v1/agents?limit=200').then(
        (page) => {
          for (const a of page.items) this.agentNames.set(a.id, a.name);
          this.changed();
        },
        () => undefined,
      );
    }
    this.state = 'connecting';
    const source = new EventSource('/v1/live/events');
    this.source = source;
    source.addEventListener('open', () => {
      this.state = 'open';
      this.changed();
    });
    source.addEventListener('snapshot', (e) => this.onSnapshot(e as MessageEvent<string>));
    source.addEventListener('call', (e) => this.onCall(e as MessageEvent<string>));
    source.addEventListener('human-agent', (e) => this.onHumanAgent(e as MessageEvent<string>));
    source.addEventListener('error', () => {
      // CONNECTING: the browser retries by itself. CLOSED: the server refused (401 after the
      // session ended, or the gateway is down): find out which, then retry or sign out.
      if (source.readyState === EventSource.CLOSED) {
        this.stop();
        this.state = 'closed';
        api('/v1/session').then(
          () => {
            this.retry = setTimeout(() => this.start(), 3_000);
          },
          () => this.onSessionLost(),
        );
      } else {
        this.state = 'connecting';
      }
      this.changed();
    });
    this.changed();
  }

  stop(): void {
    clearTimeout(this.retry);
    this.source?.close();
    this.source = undefined;
    this.state = 'closed';
  }

  private parse(e: MessageEvent<string>): Record<string, unknown> | undefined {
    try {
      const v = JSON.parse(e.data) as unknown;
      return v && typeof v === 'object' ? (v as Record<string, unknown>) : undefined;
    } catch {
      return undefined;
    }
  }

  private onSnapshot(e: MessageEvent<string>): void {
    const data = this.parse(e);
    const calls = Array.isArray(data?.calls) ? (data.calls as CallSummary[]) : [];
    const next = new Map<string, LiveCall>();
    for (const c of calls) {
      const known = this.calls.get(c.id);
      next.set(c.id, known ? { ...known, ...c } : fromSummary(c));
    }
    // Calls that ended while we were away keep their last state.
    for (const [id, c] of this.calls) if (!next.has(id) && c.endedAt) next.set(id, c);
    this.calls = next;
    this.changed();
  }

  private onCall(e: MessageEvent<string>): void {
    const msg = this.parse(e);
    const callId = str(msg?.callId);
    if (!msg || !callId) return;
    const type = (str(msg.type) ?? '').replace(/^call\./, '');
    const ts = str(msg.ts) ?? new Date().toISOString();
    const data = (msg.data && typeof msg.data === 'object' ? msg.data : {}) as Record<
      string,
      unknown
    >;
    let call = this.calls.get(callId);
    if (!call) {
      call = fromSummary({
        id: callId,
        direction: str(data.direction) ?? 'inbound',
        transport: str(data.transport) ?? '',
        fromNumber: str(data.from) ?? null,
        toNumber: str(data.to) ?? null,
        status: 'created',
        endReason: null,
        agentId: str(data.agentId) ?? null,
        agentName: null,
        campaignId: str(data.campaignId) ?? null,
        campaignName: null,
        createdAt: ts,
        answeredAt: null,
        endedAt: null,
        durationMs: null,
        setupMs: null,
      });
      // Usually its `created`; any event of a call missing from the snapshot starts a row too.
      this.calls.set(callId, call);
    }
    const id = str(msg.id);
    // The snapshot and the live stream may overlap by an event: apply each once.
    if (id !== undefined && call.events.some((ev) => ev.id === id)) return;
    call = { ...call, events: [...call.events, { ...(id ? { id } : {}), type, ts, data }] };
    switch (type) {
      case 'ringing':
        call.status = 'ringing';
        break;
      case 'answered':
        call.status = 'in-progress';
        call.answeredAt = ts;
        break;
      case 'transcript':
        call.transcript = this.withTurn(call.transcript, data, call.events.length);
        break;
      case 'handoff-requested':
      case 'handoff-updated':
        this.note(
          'handoff',
          `Call ${call.fromNumber ?? callId}: handoff ${str(data.status) ?? 'requested'}${
            str(data.reason) ? ` (${str(data.reason)})` : ''
          }`,
          callId,
          ts,
        );
        break;
      case 'ended':
        call.status = 'ended';
        call.endedAt = ts;
        call.endReason = str(data.reason) ?? null;
        break;
    }
    this.calls.set(callId, call);
    this.pruneEnded();
    this.changed();
  }

  /** Partial transcripts are replaced by the later event of the same item. */
  private withTurn(turns: LiveTurn[], data: Record<string, unknown>, n: number): LiveTurn[] {
    const key = str(data.itemId) ?? `turn-${n}`;
    const turn: LiveTurn = {
      key,
      role: str(data.role) ?? 'agent',
      text: str(data.text) ?? '',
      final: data.final !== false,
    };
    const i = turns.findIndex((t) => t.key === key);
    if (i === -1) return [...turns, turn];
    const next = turns.slice();
    next[i] = turn;
    return next;
  }

  private pruneEnded(): void {
    const ended = [...this.calls.values()].filter((c) => c.endedAt);
    for (const c of ended.slice(0, Math.max(0, ended.length - KEEP_ENDED))) {
      this.calls.delete(c.id);
    }
  }

  /** `{ humanAgentId, callId, ts, data: { kind, handoffId, summary? } }` (routes/live-events.ts). */
  private onHumanAgent(e: MessageEvent<string>): void {
    const msg = this.parse(e) ?? {};
    const data = (msg.data && typeof msg.data === 'object' ? msg.data : {}) as Record<
      string,
      unknown
    >;
    const callId = str(msg.callId);
    const call = callId ? this.calls.get(callId) : undefined;
    const parts = [str(data.kind) ?? 'notification'];
    if (call) parts.push(`call from ${call.fromNumber ?? call.id}`);
    const summary = str(data.summary);
    if (summary) parts.push(summary);
    this.note('human-agent', parts.join(': '), callId, str(msg.ts), str(msg.humanAgentId));
    this.changed();
  }

  private note(
    kind: string,
    text: string,
    callId?: string,
    at?: string,
    humanAgentId?: string,
  ): void {
    this.noteId += 1;
    this.notifications = [
      { id: this.noteId, kind, text, at: at ?? new Date().toISOString(), callId, humanAgentId },
      ...this.notifications,
    ].slice(0, MAX_NOTIFICATIONS);
  }

  agentName(id: string | null): string | undefined {
    return id ? this.agentNames.get(id) : undefined;
  }

  /** Loads the history of a call that began before we connected (its events and transcript). */
  async backfill(callId: string): Promise<void> {
    const call = this.calls.get(callId);
    if (!call || call.backfilled) return;
    call.backfilled = true;
    const detail = await api<{
      events?: CallEventView[];
      transcript?: Array<{ role: string; text: string; sequence?: number }>;
    }>(`/v1/calls/${encodeURIComponent(callId)}`).catch(() => undefined);
    const current = this.calls.get(callId);
    if (!detail || !current) return;
    const past = detail.events ?? [];
    // The record's ids are its own rows': an event is the same when its type and time are.
    const key = (e: CallEventView) => `${e.type}@${Date.parse(e.ts)}`;
    const stored = new Set(past.map(key));
    const live = current.events.filter((e) => !stored.has(key(e)));
    const turns: LiveTurn[] = (detail.transcript ?? []).map((t, i) => ({
      key: `stored-${t.sequence ?? i}`,
      role: t.role === 'user' ? 'caller' : t.role === 'assistant' ? 'agent' : t.role,
      text: t.text,
      final: true,
    }));
    this.calls.set(callId, {
      ...current,
      events: [...past, ...live],
      // A turn that arrived live is stored too: keep one of each.
      transcript: [
        ...turns,
        ...current.transcript.filter(
          (t) => !turns.some((s) => s.role === t.role && s.text === t.text),
        ),
      ],
    });
    this.changed();
  }
}
