/** One call's record: summary, timeline of its events, transcript, tools and handoffs. */
import { api, type CallDetail } from '../api.js';
import { ErrorNotice } from '../components/notice.js';
import { useAsync } from '../components/use-async.js';
import { dateTime, duration, millis, roleLabel } from '../format.js';
import { summarize } from './live.js';

/** `+1.23 s` from the call's creation, to read the timeline at a glance. */
function offset(from: string, ts: string): string {
  const ms = Date.parse(ts) - Date.parse(from);
  return Number.isFinite(ms) ? `+${(ms / 1000).toFixed(2)} s` : '';
}

export function CallDetailPage({ id }: { id: string }) {
  const call = useAsync(
    (signal) => api<CallDetail>(`/v1/calls/${encodeURIComponent(id)}`, { signal }),
    [id],
  );
  const c = call.data;
  return (
    <section class="page" data-testid="call-detail" data-call-id={id}>
      <header class="page-head">
        <h1>Call {c ? `${c.fromNumber ?? '?'} → ${c.toNumber ?? '?'}` : ''}</h1>
        <a href="/reports" data-testid="back-to-reports">
          All calls
        </a>
      </header>
      <ErrorNotice error={call.error} />
      {c && (
        <>
          <dl class="facts" data-testid="call-facts">
            <dt>Direction</dt>
            <dd>{c.direction}</dd>
            <dt>Transport</dt>
            <dd>{c.transport}</dd>
            <dt>Agent</dt>
            <dd>{c.agentName ?? '–'}</dd>
            <dt>Campaign</dt>
            <dd>{c.campaignName ?? '–'}</dd>
            <dt>Started</dt>
            <dd>{dateTime(c.createdAt)}</dd>
            <dt>Answered</dt>
            <dd>{dateTime(c.answeredAt)}</dd>
            <dt>Ended</dt>
            <dd>{dateTime(c.endedAt)}</dd>
            <dt>Duration</dt>
            <dd data-testid="call-duration">{duration(c.durationMs)}</dd>
            <dt>Set-up</dt>
            <dd>{millis(c.setupMs)}</dd>
            <dt>Outcome</dt>
            <dd data-testid="call-outcome">{c.endReason ?? c.status}</dd>
          </dl>
          <div class="columns">
            <div>
              <h2>Transcript</h2>
              <ol class="transcript" data-testid="call-transcript">
                {c.transcript.length === 0 && <li class="muted">No transcript.</li>}
                {c.transcript.map((t, i) => (
                  <li key={t.sequence ?? i} class={`turn ${t.role}`} data-testid="transcript-turn">
                    <span class="role">{roleLabel(t.role)}</span>
                    <span class="text">{t.text}</span>
                  </li>
                ))}
              </ol>
            </div>
            <div>
              <h2>Timeline</h2>
              <ol class="events" data-testid="call-timeline">
                {c.events.map((e, i) => (
                  <li key={e.id ?? i} data-testid="timeline-event" data-type={e.type}>
                    <span class="muted">{offset(c.createdAt, e.ts)}</span> <strong>{e.type}</strong>{' '}
                    <code>{summarize(e.data)}</code>
                  </li>
                ))}
              </ol>
            </div>
          </div>
          {c.toolInvocations.length > 0 && (
            <>
              <h2>Tools</h2>
              <ul class="events" data-testid="call-tools">
                {c.toolInvocations.map((t, i) => (
                  <li key={i}>
                    <code>{summarize(t)}</code>
                  </li>
                ))}
              </ul>
            </>
          )}
          {c.handoffs.length > 0 && (
            <>
              <h2>Handoffs</h2>
              <ul class="events" data-testid="call-handoffs">
                {c.handoffs.map((h, i) => (
                  <li key={i}>
                    <code>{summarize(h)}</code>
                  </li>
                ))}
              </ul>
            </>
          )}
        </>
      )}
    </section>
  );
}
