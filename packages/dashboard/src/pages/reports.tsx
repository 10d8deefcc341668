/**
 * Historical calls over `/v1/calls`: filters kept in the URL (bookmarkable), cursor paging, and
 * the CSV export of the same filters (streamed by the gateway; a plain download link).
 */
import { useState } from 'preact/hooks';

import {
  api,
  queryString,
  type CallSummary,
  type Campaign,
  type NamedRef,
  type Page,
} from '../api.js';
import { ErrorNotice } from '../components/notice.js';
import { useAsync } from '../components/use-async.js';
import { dateInput, dateTime, dayBound, duration } from '../format.js';
import { navigate } from '../router.js';

const OUTCOMES = [
  'completed',
  'caller-hangup',
  'agent-hangup',
  'operator-hangup',
  'transferred',
  'busy',
  'no-answer',
  'failed',
  'canceled',
  'bridge_lost',
  'provider-error',
  'error',
  'rejected',
];
type Filters = Record<'from' | 'to' | 'agentId' | 'campaignId' | 'direction' | 'endReason', string>;

function readFilters(query: URLSearchParams): Filters {
  const week = new Date(Date.now() - 6 * 24 * 60 * 60_000);
  return {
    from: query.get('from') ?? dateInput(week),
    to: query.get('to') ?? dateInput(new Date()),
    agentId: query.get('agentId') ?? '',
    campaignId: query.get('campaignId') ?? '',
    direction: query.get('direction') ?? '',
    endReason: query.get('endReason') ?? '',
  };
}

/** The API's query: whole local days become an instant range. */
export function apiFilters(f: Filters): Record<string, string | undefined> {
  return {
    from: dayBound(f.from),
    to: dayBound(f.to, true),
    agentId: f.agentId || undefined,
    campaignId: f.campaignId || undefined,
    direction: f.direction || undefined,
    endReason: f.endReason || undefined,
  };
}

/** Agents and campaigns for the filter menus; missing ones just leave a menu empty. */
function useChoices() {
  return useAsync(async (signal) => {
    const [agents, campaigns] = await Promise.all([
      api<Page<NamedRef>>('/v1/agents?limit=200', { signal }).catch(() => ({ items: [] })),
      api<Page<Campaign>>('/v1/campaigns?limit=200', { signal }).catch(() => ({ items: [] })),
    ]);
    return { agents: agents.items, campaigns: campaigns.items };
  }, []);
}

export function ReportsPage({ query }: { query: URLSearchParams }) {
  const filters = readFilters(query);
  const cursor = query.get('cursor') ?? '';
  // Rows per page: 50, or `?limit=` (1 to 200, the API's range) from a bookmarked link.
  const asked = Number(query.get('limit'));
  const limit = Number.isInteger(asked) && asked >= 1 && asked <= 200 ? asked : undefined;
  const [draft, setDraft] = useState<Filters>(filters);
  const [history, setHistory] = useState<string[]>([]);
  const choices = useChoices();
  const key = `${JSON.stringify(filters)}${cursor}/${limit ?? ''}`;
  const page = useAsync(
    (signal) =>
      api<Page<CallSummary>>(
        `/v1/calls${queryString({ ...apiFilters(filters), cursor: cursor || undefined, limit: limit ?? 50 })}`,
        { signal },
      ),
    [key],
  );
  const go = (f: Filters, c?: string) =>
    navigate(`/reports${queryString({ ...f, limit, cursor: c })}`);
  const exportHref = `/v1/calls/export.csv${queryString(apiFilters(filters))}`;
  const set = (name: keyof Filters) => (e: Event) =>
    setDraft({ ...draft, [name]: (e.target as HTMLInputElement | HTMLSelectElement).value });

  return (
    <section class="page" data-testid="reports-page">
      <header class="page-head">
        <h1>Reports</h1>
        <a class="button" href={exportHref} download data-testid="export-csv">
          Export CSV
        </a>
      </header>
      <form
        class="filters"
        data-testid="report-filters"
        onSubmit={(e) => {
          e.preventDefault();
          setHistory([]);
          go(draft);
        }}
      >
        <label>
          From
          <input type="date" value={draft.from} onInput={set('from')} data-testid="filter-from" />
        </label>
        <label>
          To
          <input type="date" value={draft.to} onInput={set('to')} data-testid="filter-to" />
        </label>
        <label>
          Agent
          <select value={draft.agentId} onChange={set('agentId')} data-testid="filter-agent">
            <option value="">any</option>
            {choices.data?.agents.map((a) => (
              <option key={a.id} value={a.id}>
                {a.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Campaign
          <select
            value={draft.campaignId}
            onChange={set('campaignId')}
            data-testid="filter-campaign"
          >
            <option value="">any</option>
            {choices.data?.campaigns.map((c) => (
              <option key={c.id} value={c.id}>
                {c.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Direction
          <select
            value={draft.direction}
            onChange={set('direction')}
            data-testid="filter-direction"
          >
            <option value="">any</option>
            <option value="inbound">inbound</option>
            <option value="outbound">outbound</option>
          </select>
        </label>
        <label>
          Outcome
          <select value={draft.endReason} onChange={set('endReason')} data-testid="filter-outcome">
            <option value="">any</option>
            {OUTCOMES.map((o) => (
              <option key={o} value={o}>
                {o}
              </option>
            ))}
          </select>
        </label>
        <button type="submit" class="primary" data-testid="filter-apply">
          Apply
        </button>
      </form>
      <ErrorNotice error={page.error} />
      <table class="grid" data-testid="report-calls">
        <thead>
          <tr>
            <th>Started</th>
            <th>Direction</th>
            <th>From</th>
            <th>To</th>
            <th>Agent</th>
            <th>Campaign</th>
            <th>Duration</th>
            <th>Outcome</th>
          </tr>
        </thead>
        <tbody>
          {page.data?.items.length === 0 && (
            <tr>
              <td colSpan={8} class="muted">
                No calls match.
              </td>
            </tr>
          )}
          {page.data?.items.map((c) => (
            <tr
              key={c.id}
              class="clickable"
              data-testid="report-row"
              data-call-id={c.id}
              onClick={() => navigate(`/reports/${encodeURIComponent(c.id)}`)}
            >
              <td>{dateTime(c.createdAt)}</td>
              <td>{c.direction}</td>
              <td>{c.fromNumber ?? '–'}</td>
              <td>{c.toNumber ?? '–'}</td>
              <td>{c.agentName ?? '–'}</td>
              <td>{c.campaignName ?? '–'}</td>
              <td>{duration(c.durationMs)}</td>
              <td>{c.endReason ?? c.status}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <nav class="pager">
        <button
          type="button"
          data-testid="page-prev"
          disabled={history.length === 0}
          onClick={() => {
            const prev = history.slice(0, -1);
            setHistory(prev);
            go(filters, history.at(-1) || undefined);
          }}
        >
          Previous
        </button>
        <button
          type="button"
          data-testid="page-next"
          disabled={!page.data?.nextCursor}
          onClick={() => {
            setHistory([...history, cursor]);
            go(filters, page.data?.nextCursor ?? undefined);
          }}
        >
          Next
        </button>
      </nav>
    </section>
  );
}
