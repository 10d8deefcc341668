/** Campaigns: progress of each, and start / pause / resume / cancel (`/v1/campaigns/:id/<action>`). */
import { useEffect, useState } from 'preact/hooks';

import { api, type Campaign, type Page } from '../api.js';
import { useApp } from '../app-context.js';
import { ConfirmButton } from '../components/confirm-button.js';
import { ErrorNotice } from '../components/notice.js';
import { useAsync } from '../components/use-async.js';
import { dateTime } from '../format.js';

/** Which actions each status allows (the API's own table, services/gateway campaigns-api.ts). */
const ACTIONS: Record<string, Array<'start' | 'pause' | 'resume'>> = {
  draft: ['start'],
  running: ['pause'],
  paused: ['resume'],
};
const CANCELABLE = ['draft', 'running', 'paused'];

export function CampaignsPage() {
  const { canWrite } = useApp();
  const [error, setError] = useState<unknown>();
  const list = useAsync(async (signal) => {
    const page = await api<Page<Campaign>>('/v1/campaigns?limit=100', { signal });
    // The list has no progress; each campaign's own read does.
    return Promise.all(
      page.items.map((c) =>
        api<Campaign>(`/v1/campaigns/${encodeURIComponent(c.id)}`, { signal }).catch(() => c),
      ),
    );
  }, []);
  // Progress moves while campaigns run.
  useEffect(() => {
    const t = setInterval(list.reload, 10_000);
    return () => clearInterval(t);
  }, [list.reload]);

  const act = async (id: string, action: string) => {
    setError(undefined);
    try {
      await api(`/v1/campaigns/${encodeURIComponent(id)}/${action}`, { method: 'POST' });
    } catch (err) {
      setError(err);
    }
    list.reload();
  };

  return (
    <section class="page" data-testid="campaigns-page">
      <header class="page-head">
        <h1>Campaigns</h1>
      </header>
      <ErrorNotice error={error ?? list.error} />
      <table class="grid" data-testid="campaigns">
        <thead>
          <tr>
            <th>Name</th>
            <th>Status</th>
            <th>Progress</th>
            <th>Live</th>
            <th>Rate</th>
            <th>Created</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {list.data?.length === 0 && (
            <tr>
              <td colSpan={7} class="muted">
                No campaigns yet (create them with POST /v1/campaigns).
              </td>
            </tr>
          )}
          {list.data?.map((c) => {
            const p = c.progress;
            const done = p ? p.total - p.remaining : 0;
            return (
              <tr key={c.id} data-testid="campaign-row" data-campaign-id={c.id}>
                <td>{c.name}</td>
                <td data-testid="campaign-status">{c.status}</td>
                <td>
                  {p ? (
                    <>
                      <progress max={Math.max(1, p.total)} value={done} />{' '}
                      <span class="muted" data-testid="campaign-progress">
                        {done} / {p.total}
                      </span>
                    </>
                  ) : (
                    '–'
                  )}
                </td>
                <td>{p?.live ?? '–'}</td>
                <td>{c.callsPerMinute}/min</td>
                <td>{dateTime(c.createdAt)}</td>
                <td class="actions">
                  {canWrite &&
                    (ACTIONS[c.status] ?? []).map((a) => (
                      <button
                        key={a}
                        type="button"
                        data-testid={`campaign-${a}`}
                        onClick={() => act(c.id, a)}
                      >
                        {a[0]?.toUpperCase() + a.slice(1)}
                      </button>
                    ))}
                  {canWrite && CANCELABLE.includes(c.status) && (
                    <ConfirmButton
                      label="Cancel"
                      question="Cancel this campaign for good?"
                      testId="campaign-cancel"
                      danger
                      onConfirm={() => act(c.id, 'cancel')}
                    />
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </section>
  );
}
