/**
 * Password hashing for dashboard users: scrypt (RFC 7914), memory-hard, from Node's crypto, so no
 * native dependency. A hash is stored as `scrypt$N$r$p$<salt>$<hash>` (base64url salt and hash):
 * the parameters travel with each hash, so raising them later needs no migration; old hashes keep
 * verifying with the cost they were made with.
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/** scrypt cost parameters. */
export interface ScryptParams {
  /** CPU/memory cost, a power of two. */
  N: number;
  /** Block size. */
  r: number;
  /** Parallelisation. */
  p: number;
}

/**
 * N = 2^15, r = 8, p = 1: 32 MiB and about 0.1 s per hash on one core, so a sign-in costs little
 * while a stolen hash costs an attacker the same per guess.
 */
export const DEFAULT_SCRYPT: ScryptParams = { N: 2 ** 15, r: 8, p: 1 };

/** Shortest password accepted: length is what makes a password hard to guess. */
export const MIN_PASSWORD_LENGTH = 12;
/** Longest password accepted, so a megabyte of "password" cannot be made to be hashed. */
export const MAX_PASSWORD_LENGTH = 1_024;

const SALT_BYTES = 16;
const HASH_BYTES = 32;
/** Highest cost accepted from a stored hash: a corrupted row must not make us allocate gigabytes. */
const MAX_N = 2 ** 20;

function derive(password: string, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  const options: ScryptOptions = {
    N: params.N,
    r: params.r,
    p: params.p,
    // Node refuses 128·N·r above `maxmem` (32 MiB by default, exactly our default's need).
    maxmem: 256 * params.N * params.r,
  };
  return new Promise((resolve, reject) => {
    // NFC: the same password typed on another keyboard or OS gives the same bytes.
    scrypt(password.normalize('NFC'), salt, HASH_BYTES, options, (err, key) =>
      err ? reject(err) : resolve(key),
    );
  });
}

/** Hashes a password with a fresh random salt. */
export async function hashPassword(
  password: string,
  params: ScryptParams = DEFAULT_SCRYPT,
): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const hash = await derive(password, salt, params);
  return [
    'scrypt',
    params.N,
    params.r,
    params.p,
    salt.toString('base64url'),
    hash.toString('base64url'),
  ].join('$');
}

/** The parts of a stored hash, or null when it is not one of ours. */
function parse(stored: string): { params: ScryptParams; salt: Buffer; hash: Buffer } | null {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return null;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  const valid =
    Number.isSafeInteger(N) &&
    N > 1 &&
    N <= MAX_N &&
    (N & (N - 1)) === 0 &&
    Number.isSafeInteger(r) &&
    r >= 1 &&
    r <= 32 &&
    Number.isSafeInteger(p) &&
    p >= 1 &&
    p <= 16;
  if (!valid) return null;
  const salt = Buffer.from(parts[4] ?? '', 'base64url');
  const hash = Buffer.from(parts[5] ?? '', 'base64url');
  if (salt.length === 0 || hash.length !== HASH_BYTES) return null;
  return { params: { N, r, p }, salt, hash };
}

/** Whether `password` is the one `stored` was made from; false for a malformed hash. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parsed = parse(stored);
  if (parsed === null) return false;
  const candidate = await derive(password, parsed.salt, parsed.params);
  return timingSafeEqual(candidate, parsed.hash);
}

let dummy: Promise<string> | undefined;

/**
 * A hash of no one's password, made once: checked when the email is unknown, so a sign-in for
 * an unknown email takes as long as one with a wrong password and does not tell which emails
 * have accounts.
 */
export function dummyPasswordHash(): Promise<string> {
  dummy ??= hashPassword(randomBytes(32).toString('base64url'));
  return dummy;
}
