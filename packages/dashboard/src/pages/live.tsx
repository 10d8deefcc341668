/** Live calls: who, agent, duration (ticking), state; one call's events and transcript. */
import { useEffect, useState } from 'preact/hooks';

import { api } from '../api.js';
import { useApp, useLive, useNow } from '../app-context.js';
import { ConfirmButton } from '../components/confirm-button.js';
import { ErrorNotice } from '../components/notice.js';
import { duration, roleLabel, time } from '../format.js';
import type { LiveCall } from '../live-store.js';
import { navigate } from '../router.js';

function callDuration(c: LiveCall, now: number): number {
  const start = Date.parse(c.answeredAt ?? c.createdAt);
  const end = c.endedAt ? Date.parse(c.endedAt) : now;
  return end - start;
}

export function LivePage({ selected }: { selected: string | null }) {
  const live = useLive();
  const now = useNow();
  const calls = [...live.calls.values()].sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  const current = selected ? live.calls.get(selected) : undefined;

  return (
    <section class="page" data-testid="live-page">
      <header class="page-head">
        <h1>Live calls</h1>
        <span class={`pill ${live.state}`} data-testid="live-connection">
          {live.state === 'open' ? 'live' : live.state}
        </span>
        <span class="muted" data-testid="live-count">
          {calls.filter((c) => !c.endedAt).length} in progress
        </span>
      </header>
      <table class="grid" data-testid="live-calls">
        <thead>
          <tr>
            <th>Caller</th>
            <th>Called</th>
            <th>Direction</th>
            <th>Agent</th>
            <th>Duration</th>
            <th>State</th>
          </tr>
        </thead>
        <tbody>
          {calls.length === 0 && (
            <tr>
              <td colSpan={6} class="muted">
                No calls right now.
              </td>
            </tr>
          )}
          {calls.map((c) => (
            <tr
              key={c.id}
              data-testid="live-call-row"
              data-call-id={c.id}
              class={`clickable ${c.id === selected ? 'selected' : ''} ${c.endedAt ? 'ended' : ''}`}
              onClick={() => navigate(`/live?call=${encodeURIComponent(c.id)}`)}
            >
              <td data-testid="live-call-from">{c.fromNumber ?? '–'}</td>
              <td>{c.toNumber ?? '–'}</td>
              <td>{c.direction}</td>
              <td>{c.agentName ?? live.agentName(c.agentId) ?? '–'}</td>
              <td data-testid="live-call-duration">{duration(callDuration(c, now))}</td>
              <td data-testid="live-call-state">
                {c.endedAt ? `ended${c.endReason ? ` (${c.endReason})` : ''}` : c.status}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {selected && !current && <p class="muted">That call is no longer on the live view.</p>}
      {current && <LiveCallPanel call={current} />}
    </section>
  );
}

function LiveCallPanel({ call }: { call: LiveCall }) {
  const { live, canWrite } = useApp();
  const [error, setError] = useState<unknown>();
  const [done, setDone] = useState<string>();
  const [skill, setSkill] = useState('');
  useEffect(() => {
    setError(undefined);
    setDone(undefined);
    void live.backfill(call.id);
  }, [call.id, live]);
  const act = async (what: 'hangup' | 'transfer') => {
    setError(undefined);
    try {
      await api(`/v1/calls/${encodeURIComponent(call.id)}/${what}`, {
        method: 'POST',
        body: what === 'transfer' ? (skill ? { skill } : {}) : {},
      });
      setDone(what === 'hangup' ? 'Hang-up sent.' : 'Transfer requested.');
    } catch (err) {
      setError(err);
    }
  };
  const ended = Boolean(call.endedAt);

  return (
    <div class="panel" data-testid="live-call-detail" data-call-id={call.id}>
      <header class="page-head">
        <h2>
          {call.fromNumber ?? 'unknown'} → {call.toNumber ?? 'unknown'}
        </h2>
        <a href={`/reports/${encodeURIComponent(call.id)}`} data-testid="live-call-report">
          Call record
        </a>
      </header>
      {canWrite && !ended && (
        <div class="actions">
          <ConfirmButton
            label="Hang up"
            question="End this call now?"
            testId="hangup"
            danger
            onConfirm={() => act('hangup')}
          />
          <ConfirmButton
            label="Transfer"
            question="Transfer to a human?"
            testId="transfer"
            onConfirm={() => act('transfer')}
          >
            <input
              placeholder="skill (optional)"
              value={skill}
              data-testid="transfer-skill"
              onInput={(e) => setSkill((e.target as HTMLInputElement).value)}
            />
          </ConfirmButton>
        </div>
      )}
      {done && (
        <p class="ok" data-testid="action-result">
          {done}
        </p>
      )}
      <ErrorNotice error={error} testId="action-error" />
      <div class="columns">
        <div>
          <h3>Transcript</h3>
          <ol class="transcript" data-testid="live-transcript">
            {call.transcript.length === 0 && <li class="muted">Nothing said yet.</li>}
            {call.transcript.map((t) => (
              <li
                key={t.key}
                class={`turn ${t.role} ${t.final ? '' : 'partial'}`}
                data-testid="transcript-turn"
              >
                <span class="role">{roleLabel(t.role)}</span>
                <span class="text">{t.text}</span>
              </li>
            ))}
          </ol>
        </div>
        <div>
          <h3>Events</h3>
          <ol class="events" data-testid="live-events">
            {call.events.map((e, i) => (
              <li key={i} data-testid="live-event" data-type={e.type}>
                <span class="muted">{time(e.ts)}</span> <strong>{e.type}</strong>{' '}
                <code>{summarize(e.data)}</code>
              </li>
            ))}
          </ol>
        </div>
      </div>
    </div>
  );
}

/** A one-line view of an event's data (long values cut), always as text. */
export function summarize(data: Record<string, unknown>): string {
  const s = JSON.stringify(data ?? {});
  return s.length > 160 ? `${s.slice(0, 157)}…` : s;
}
