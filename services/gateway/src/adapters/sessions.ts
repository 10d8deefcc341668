/**
 * Sign-in sessions (`user_sessions`). The cookie carries a random 256-bit token; only its SHA-256
 * is stored, so a leaked database holds no usable session (like `api_keys`; a random token needs
 * no slow hash). Each session has its own CSRF token, which the dashboard sends back in
 * `X-CSRF-Token` on writes.
 *
 * A session ends at `expiresAt` (fixed at sign-in: the cookie's Max-Age says the same), when it
 * is revoked (sign-out, the user disabled), or when its user is disabled.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

import type { ApiKeyRole, PrismaClient } from '@app/db';

/** The signed-in person, read fresh on every request: a role change applies at once. */
export interface SessionUser {
  id: string;
  email: string;
  name: string;
  role: ApiKeyRole;
}

export interface ActiveSession {
  id: string;
  /** Expected in `X-CSRF-Token` on every unsafe request made with this session. */
  csrfToken: string;
  expiresAt: Date;
  user: SessionUser;
}

export interface SessionStore {
  /** Starts a session for a user; `token` goes in the cookie and is not stored. */
  create(user: SessionUser): Promise<{ token: string; session: ActiveSession }>;
  /** The live session of a cookie's token; null when unknown, expired, revoked or disabled. */
  authenticate(token: string): Promise<ActiveSession | null>;
  /** Ends a session (sign-out); a second call changes nothing. */
  revoke(sessionId: string): Promise<void>;
}

/** Longest token looked up; ours are 43 characters, this bounds the work for junk cookies. */
const MAX_TOKEN_LENGTH = 128;

/**
 * How often `last_seen_at` is written for one session, at most, in ms: it shows recent activity,
 * and a write per request would turn every dashboard read into a database write.
 */
const LAST_SEEN_RESOLUTION_MS = 60_000;

/** SHA-256 hex of a session token, as stored in `user_sessions.token_hash`. */
export function hashSessionToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Receives failures of the background `last_seen_at` write. */
export interface SessionStoreLogger {
  warn(fields: Record<string, unknown>, message: string): void;
}

export interface PrismaSessionStoreOptions {
  /** Lifetime of a session from sign-in, in ms. */
  ttlMs: number;
  log?: SessionStoreLogger;
  now?: () => Date;
}

export class PrismaSessionStore implements SessionStore {
  /** The `last_seen_at` writes in flight; awaited by {@link settled}. */
  readonly #pending = new Set<Promise<void>>();
  readonly #now: () => Date;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly opts: PrismaSessionStoreOptions,
  ) {
    this.#now = opts.now ?? (() => new Date());
  }

  async create(user: SessionUser): Promise<{ token: string; session: ActiveSession }> {
    const token = randomBytes(32).toString('base64url');
    const csrfToken = randomBytes(32).toString('base64url');
    const now = this.#now();
    const expiresAt = new Date(now.getTime() + this.opts.ttlMs);
    const row = await this.prisma.userSession.create({
      data: {
        tokenHash: hashSessionToken(token),
        userId: user.id,
        csrfToken,
        createdAt: now,
        lastSeenAt: now,
        expiresAt,
      },
      select: { id: true },
    });
    return { token, session: { id: row.id, csrfToken, expiresAt, user } };
  }

  async authenticate(token: string): Promise<ActiveSession | null> {
    if (token.length === 0 || token.length > MAX_TOKEN_LENGTH) return null;
    const tokenHash = hashSessionToken(token);
    const row = await this.prisma.userSession.findUnique({
      where: { tokenHash },
      select: {
        id: true,
        tokenHash: true,
        csrfToken: true,
        expiresAt: true,
        lastSeenAt: true,
        revokedAt: true,
        user: { select: { id: true, email: true, name: true, role: true, disabledAt: true } },
      },
    });
    // Looked up by hash through the unique index (see api-keys.ts): the compare is constant-time
    // all the same, so no code path compares secrets byte by byte.
    if (
      row === null ||
      !timingSafeEqual(Buffer.from(row.tokenHash, 'utf8'), Buffer.from(tokenHash, 'utf8'))
    ) {
      return null;
    }
    const now = this.#now();
    if (row.revokedAt !== null || row.expiresAt <= now || row.user.disabledAt !== null) {
      return null;
    }
    this.touch(row.id, row.lastSeenAt, now);
    const { disabledAt: _disabled, ...user } = row.user;
    return { id: row.id, csrfToken: row.csrfToken, expiresAt: row.expiresAt, user };
  }

  async revoke(sessionId: string): Promise<void> {
    await this.prisma.userSession.updateMany({
      where: { id: sessionId, revokedAt: null },
      data: { revokedAt: this.#now() },
    });
  }

  /** Resolves when every `last_seen_at` write started so far has finished (tests, shutdown). */
  async settled(): Promise<void> {
    await Promise.all([...this.#pending]);
  }

  /** Records activity in the background; a failed write is only logged (bookkeeping). */
  private touch(id: string, lastSeenAt: Date, now: Date): void {
    if (now.getTime() - lastSeenAt.getTime() < LAST_SEEN_RESOLUTION_MS) return;
    const write = this.prisma.userSession
      .update({ where: { id }, data: { lastSeenAt: now }, select: { id: true } })
      .then(
        () => undefined,
        (err: unknown) =>
          this.opts.log?.warn({ err, sessionId: id }, 'session last_seen_at not updated'),
      );
    this.#pending.add(write);
    void write.finally(() => this.#pending.delete(write));
  }
}
