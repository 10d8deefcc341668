/** The shell: session check, sign-in, navigation and the pages. */
import { useCallback, useEffect, useMemo, useState } from 'preact/hooks';

import { api, setCsrfToken, whenUnauthorized, type SessionInfo } from './api.js';
import { Ctx, type AppContext } from './app-context.js';
import { LiveStore } from './live-store.js';
import { CallDetailPage } from './pages/call-detail.js';
import { CampaignsPage } from './pages/campaigns.js';
import { HumanAgentsPage } from './pages/human-agents.js';
import { LivePage } from './pages/live.js';
import { MetricsPage } from './pages/metrics.js';
import { ReportsPage } from './pages/reports.js';
import { SignInPage } from './pages/sign-in.js';
import { linkClick, navigate, useLocation } from './router.js';

const NAV = [
  ['/live', 'Live calls'],
  ['/metrics', 'Metrics'],
  ['/reports', 'Reports'],
  ['/campaigns', 'Campaigns'],
  ['/human-agents', 'Human agents'],
] as const;

export function App() {
  // undefined: still asking the gateway whether a session exists.
  const [session, setSession] = useState<SessionInfo | null | undefined>(undefined);
  useEffect(() => {
    whenUnauthorized(() => setSession(null));
    api<SessionInfo>('/v1/session').then(setSession, () => setSession(null));
  }, []);
  useEffect(() => setCsrfToken(session?.csrfToken ?? null), [session]);
  // Stable, so the live connection is not rebuilt on every render.
  const signedOut = useCallback(() => setSession(null), []);

  if (session === undefined) return <p class="muted loading">Loading…</p>;
  if (session === null) return <SignInPage onSignedIn={setSession} />;
  return <SignedIn session={session} onSignedOut={signedOut} />;
}

function SignedIn({ session, onSignedOut }: { session: SessionInfo; onSignedOut: () => void }) {
  const live = useMemo(() => new LiveStore(onSignedOut), [onSignedOut]);
  useEffect(() => {
    live.start();
    return () => live.stop();
  }, [live]);
  const ctx: AppContext = {
    user: session.user,
    live,
    canWrite: session.user.role === 'admin' || session.user.role === 'operator',
  };
  const { path, query } = useLocation();
  useEffect(() => {
    if (path === '/' || path === '/sign-in') navigate('/live', { replace: true });
  }, [path]);

  const signOut = async () => {
    await api('/v1/session', { method: 'DELETE' }).catch(() => undefined);
    onSignedOut();
  };

  return (
    <Ctx.Provider value={ctx}>
      <div class="shell" onClick={linkClick}>
        <nav class="top" data-testid="nav">
          <span class="brand">Voice platform</span>
          {NAV.map(([href, label]) => (
            <a
              key={href}
              href={href}
              class={path.startsWith(href) ? 'active' : ''}
              data-testid={`nav-${href.slice(1)}`}
            >
              {label}
            </a>
          ))}
          <span class="spacer" />
          <span class="muted" data-testid="signed-in-as">
            {session.user.email} ({session.user.role})
          </span>
          <button type="button" data-testid="sign-out" onClick={signOut}>
            Sign out
          </button>
        </nav>
        <main>{route(path, query)}</main>
      </div>
    </Ctx.Provider>
  );
}

function route(path: string, query: URLSearchParams) {
  if (path.startsWith('/reports/')) {
    return <CallDetailPage id={decodeURIComponent(path.slice('/reports/'.length))} />;
  }
  switch (path) {
    case '/metrics':
      return <MetricsPage query={query} />;
    case '/reports':
      return <ReportsPage query={query} />;
    case '/campaigns':
      return <CampaignsPage />;
    case '/human-agents':
      return <HumanAgentsPage />;
    case '/live':
    case '/':
    case '/sign-in':
      return <LivePage selected={query.get('call')} />;
    default:
      return (
        <p class="muted" data-testid="not-found">
          No such page. <a href="/live">Live calls</a>
        </p>
      );
  }
}
