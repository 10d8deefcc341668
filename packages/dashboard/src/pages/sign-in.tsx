/** Sign-in with email and password (`POST /v1/session`: an HttpOnly session cookie). */
import { useState } from 'preact/hooks';

import { api, type SessionInfo } from '../api.js';
import { ErrorNotice } from '../components/notice.js';

export function SignInPage({ onSignedIn }: { onSignedIn: (s: SessionInfo) => void }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  return (
    <main class="sign-in" data-testid="sign-in-page">
      <form
        data-testid="sign-in-form"
        onSubmit={async (e) => {
          e.preventDefault();
          setBusy(true);
          setError(undefined);
          try {
            onSignedIn(
              await api<SessionInfo>('/v1/session', { method: 'POST', body: { email, password } }),
            );
          } catch (err) {
            setError(
              (err as { status?: number }).status === 401
                ? new Error('Wrong email or password.')
                : err,
            );
          } finally {
            setBusy(false);
          }
        }}
      >
        <h1>Voice platform</h1>
        <label>
          Email
          <input
            type="email"
            autocomplete="username"
            required
            value={email}
            data-testid="sign-in-email"
            onInput={(e) => setEmail((e.target as HTMLInputElement).value)}
          />
        </label>
        <label>
          Password
          <input
            type="password"
            autocomplete="current-password"
            required
            value={password}
            data-testid="sign-in-password"
            onInput={(e) => setPassword((e.target as HTMLInputElement).value)}
          />
        </label>
        <ErrorNotice error={error} testId="sign-in-error" />
        <button type="submit" class="primary" disabled={busy} data-testid="sign-in-submit">
          Sign in
        </button>
      </form>
    </main>
  );
}
