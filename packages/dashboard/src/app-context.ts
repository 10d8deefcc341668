/** What every page may use: the signed-in user and the live connection. */
import { createContext } from 'preact';
import { useContext, useEffect, useState } from 'preact/hooks';

import type { User } from './api.js';
import type { LiveStore } from './live-store.js';

export interface AppContext {
  user: User;
  live: LiveStore;
  /** Admins and operators act; viewers only read. */
  canWrite: boolean;
}

export const Ctx = createContext<AppContext | null>(null);

export function useApp(): AppContext {
  const ctx = useContext(Ctx);
  if (!ctx) throw new Error('useApp outside the signed-in app');
  return ctx;
}

/** Re-renders on every live update. */
export function useLive(): LiveStore {
  const { live } = useApp();
  const [, setVersion] = useState(live.snapshotVersion);
  useEffect(() => live.subscribe(() => setVersion(live.snapshotVersion)), [live]);
  return live;
}

/** Re-renders every second, for durations that tick. */
export function useNow(): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 1_000);
    return () => clearInterval(t);
  }, []);
  return now;
}
