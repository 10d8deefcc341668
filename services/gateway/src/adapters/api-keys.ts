/**
 * API keys of the REST API (`api_keys`). Only the SHA-256 of a key is stored: a leaked database
 * gives no usable key. A key is random (256 bits), so a fast unsalted hash is enough; slow
 * password hashes exist for guessable secrets.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

import { ApiKeyRole, type Prisma, type PrismaClient } from '@app/db';

/** Every role (`api_key_role`): `admin` and `operator` act, `viewer` only reads. */
export const API_KEY_ROLES: readonly ApiKeyRole[] = Object.values(ApiKeyRole);

/** The caller a valid key identifies. */
export interface ApiKeyPrincipal {
  id: string;
  name: string;
  /** First characters of the key: safe to log and show, tells keys apart. */
  prefix: string;
  role: ApiKeyRole;
}

/** Result of {@link ApiKeyStore.authenticate}; `unknown` and `revoked` only differ in logs. */
export type ApiKeyCheck =
  | { status: 'valid'; key: ApiKeyPrincipal }
  | { status: 'unknown' }
  | { status: 'revoked'; prefix: string };

export interface ApiKeyStore {
  /** Looks a presented key up by its hash; never throws for a malformed key. */
  authenticate(presented: string): Promise<ApiKeyCheck>;
}

/** Marks our keys in logs, config and secret scanners (like `sk_`, `ghp_`). */
export const API_KEY_PREFIX = 'vpk_';

/** Characters of a key kept as its `prefix`: the marker and 8 random characters. */
const SHOWN_LENGTH = API_KEY_PREFIX.length + 8;

/** Longest key looked up; ours are 47 characters, this bounds the work for junk input. */
const MAX_KEY_LENGTH = 256;

/**
 * How often `last_used_at` is written for one key, at most, in ms: it says whether a key is in
 * use, and one write per request would turn every API call into a database write.
 */
const LAST_USED_RESOLUTION_MS = 60_000;

/** SHA-256 hex of the full key, as stored in `api_keys.hashed_key`. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** A new random key with what to store of it. The key itself is shown once and never stored. */
export function generateApiKey(): { key: string; hashedKey: string; prefix: string } {
  const key = `${API_KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
  return { key, hashedKey: hashApiKey(key), prefix: key.slice(0, SHOWN_LENGTH) };
}

/**
 * Creates a key row and returns the key, the only time it is available in full. Takes a
 * transaction client too, so the caller can commit the key with its audit row.
 *
 * @throws RangeError when `name` is blank or `role` is not a role.
 */
export async function createApiKey(
  prisma: PrismaClient | Prisma.TransactionClient,
  input: { name: string; role: string },
): Promise<{
  id: string;
  key: string;
  name: string;
  prefix: string;
  role: ApiKeyRole;
  createdAt: Date;
}> {
  const name = input.name.trim();
  if (name === '') throw new RangeError('the key needs a name, e.g. "local-dev"');
  const role = API_KEY_ROLES.find((r) => r === input.role);
  if (role === undefined) {
    throw new RangeError(`role must be one of ${API_KEY_ROLES.join(', ')}, got "${input.role}"`);
  }
  const { key, hashedKey, prefix } = generateApiKey();
  const row = await prisma.apiKey.create({
    data: { name, hashedKey, prefix, role },
    select: { id: true, createdAt: true },
  });
  return { id: row.id, key, name, prefix, role, createdAt: row.createdAt };
}

/** Receives failures of the background `last_used_at` write. */
export interface ApiKeyStoreLogger {
  warn(fields: Record<string, unknown>, message: string): void;
}

export class PrismaApiKeyStore implements ApiKeyStore {
  /** The `last_used_at` writes in flight; awaited by {@link settled}. */
  readonly #pending = new Set<Promise<void>>();

  constructor(
    private readonly prisma: PrismaClient,
    private readonly log?: ApiKeyStoreLogger,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async authenticate(presented: string): Promise<ApiKeyCheck> {
    if (presented.length === 0 || presented.length > MAX_KEY_LENGTH) return { status: 'unknown' };
    // The lookup is by hash, through the unique index: how long it takes depends on the hash,
    // which an attacker cannot steer toward a stored one (preimage resistance), so it leaks
    // nothing about stored keys. The comparison below is constant-time all the same, so no
    // code path ever compares secrets byte by byte.
    const hashedKey = hashApiKey(presented);
    const row = await this.prisma.apiKey.findUnique({
      where: { hashedKey },
      select: {
        id: true,
        name: true,
        prefix: true,
        role: true,
        hashedKey: true,
        revokedAt: true,
        lastUsedAt: true,
      },
    });
    if (
      row === null ||
      !timingSafeEqual(Buffer.from(row.hashedKey, 'utf8'), Buffer.from(hashedKey, 'utf8'))
    ) {
      return { status: 'unknown' };
    }
    if (row.revokedAt !== null) return { status: 'revoked', prefix: row.prefix };
    this.touch(row.id, row.lastUsedAt);
    return {
      status: 'valid',
      key: { id: row.id, name: row.name, prefix: row.prefix, role: row.role },
    };
  }

  /** Resolves when every `last_used_at` write started so far has finished (tests, shutdown). */
  async settled(): Promise<void> {
    await Promise.all([...this.#pending]);
  }

  /**
   * Records the use in the background: the request does not wait for the write, and a failed
   * write is only logged (the key was valid; its use time is bookkeeping).
   */
  private touch(id: string, lastUsedAt: Date | null): void {
    const now = this.now();
    if (lastUsedAt !== null && now.getTime() - lastUsedAt.getTime() < LAST_USED_RESOLUTION_MS) {
      return;
    }
    const write = this.prisma.apiKey
      .update({ where: { id }, data: { lastUsedAt: now }, select: { id: true } })
      .then(
        () => undefined,
        (err: unknown) => this.log?.warn({ err, apiKeyId: id }, 'api key last_used_at not updated'),
      );
    this.#pending.add(write);
    void write.finally(() => this.#pending.delete(write));
  }
}
