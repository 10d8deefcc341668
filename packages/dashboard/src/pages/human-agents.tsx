/** Human agents: presence (and setting it), plus handoff notifications as they arrive. */
import { useEffect, useState } from 'preact/hooks';

import { api, type HumanAgent } from '../api.js';
import { useApp, useLive } from '../app-context.js';
import { ErrorNotice } from '../components/notice.js';
import { useAsync } from '../components/use-async.js';
import { dateTime, time } from '../format.js';

const PRESENCE = ['available', 'busy', 'away', 'offline'];

export function HumanAgentsPage() {
  const { canWrite } = useApp();
  const live = useLive();
  const [error, setError] = useState<unknown>();
  const agents = useAsync(
    (signal) => api<{ items: HumanAgent[] }>('/v1/human-agents', { signal }),
    [],
  );
  // A notification usually means someone's presence changed: read the list again.
  const latest = live.notifications[0]?.id;
  useEffect(() => {
    if (latest !== undefined) agents.reload();
  }, [latest, agents.reload]);

  const setPresence = async (id: string, status: string) => {
    setError(undefined);
    try {
      await api(`/v1/human-agents/${encodeURIComponent(id)}/presence`, {
        method: 'PUT',
        body: { status },
      });
    } catch (err) {
      setError(err);
    }
    agents.reload();
  };

  return (
    <section class="page" data-testid="human-agents-page">
      <header class="page-head">
        <h1>Human agents</h1>
      </header>
      <ErrorNotice error={error ?? agents.error} />
      <table class="grid" data-testid="human-agents">
        <thead>
          <tr>
            <th>Name</th>
            <th>Skills</th>
            <th>Reached at</th>
            <th>Presence</th>
            <th>Available since</th>
          </tr>
        </thead>
        <tbody>
          {agents.data?.items.length === 0 && (
            <tr>
              <td colSpan={5} class="muted">
                No human agents.
              </td>
            </tr>
          )}
          {agents.data?.items.map((h) => (
            <tr key={h.id} data-testid="human-agent-row" data-human-agent-id={h.id}>
              <td>{h.name}</td>
              <td>{h.skills.join(', ')}</td>
              <td>{h.phoneNumber ?? h.sipUri ?? h.twilioClientIdentity ?? '–'}</td>
              <td>
                {canWrite ? (
                  <select
                    value={h.status}
                    data-testid="presence-select"
                    onChange={(e) => setPresence(h.id, (e.target as HTMLSelectElement).value)}
                  >
                    {PRESENCE.map((p) => (
                      <option key={p} value={p}>
                        {p}
                      </option>
                    ))}
                  </select>
                ) : (
                  <span data-testid="presence">{h.status}</span>
                )}
              </td>
              <td>{dateTime(h.availableSince)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h2>Handoff notifications</h2>
      <ol class="events" data-testid="notifications">
        {live.notifications.length === 0 && <li class="muted">None since you opened the page.</li>}
        {live.notifications.map((n) => (
          <li key={n.id} data-testid="notification" data-kind={n.kind}>
            <span class="muted">{time(n.at)}</span>{' '}
            {n.humanAgentId && (
              <strong>
                {agents.data?.items.find((h) => h.id === n.humanAgentId)?.name ?? 'Human agent'}
                :{' '}
              </strong>
            )}
            {n.text}
            {n.callId && (
              <>
                {' '}
                <a href={`/live?call=${encodeURIComponent(n.callId)}`}>view call</a>
              </>
            )}
          </li>
        ))}
      </ol>
    </section>
  );
}
