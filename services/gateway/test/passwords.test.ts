import { describe, expect, it } from 'vitest';

import {
  DEFAULT_SCRYPT,
  dummyPasswordHash,
  hashPassword,
  verifyPassword,
} from '../src/domain/passwords.js';

/** Cheap parameters: these tests are about the format and the checks, not the cost. */
const FAST = { N: 1024, r: 8, p: 1 };

describe('passwords - scrypt hashes', { timeout: 30_000 }, () => {
  it('encodes the parameters, a random salt and the hash, and verifies only the password', async () => {
    const hash = await hashPassword('correct horse battery staple', FAST);
    expect(hash).toMatch(/^scrypt\$1024\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    expect(await verifyPassword('correct horse battery staple', hash)).toBe(true);
    expect(await verifyPassword('correct horse battery stapl', hash)).toBe(false);
    expect(await verifyPassword('', hash)).toBe(false);
    // A fresh salt each time: the same password never gives the same hash.
    expect(await hashPassword('correct horse battery staple', FAST)).not.toBe(hash);
  });

  it('uses the default cost, and the same password in another Unicode form verifies', async () => {
    const hash = await hashPassword('caf\u00e9 au lait, s\u2019il vous pla\u00eet');
    expect(
      hash.startsWith(`scrypt$${DEFAULT_SCRYPT.N}$${DEFAULT_SCRYPT.r}$${DEFAULT_SCRYPT.p}$`),
    ).toBe(true);
    expect(await verifyPassword('cafe\u0301 au lait, s\u2019il vous pla\u00eet', hash)).toBe(true);
  });

  it('refuses malformed hashes and hostile parameters without throwing', async () => {
    const good = await hashPassword('a password of some length', FAST);
    const parts = good.split('$');
    const variants = [
      '',
      'bcrypt$2b$10$abc',
      ['scrypt', '1000', ...parts.slice(2)].join('$'), // N not a power of two
      ['scrypt', String(2 ** 30), ...parts.slice(2)].join('$'), // gigabytes of memory
      [...parts.slice(0, 5), 'dG9vIHNob3J0'].join('$'), // truncated hash
    ];
    for (const stored of variants) {
      expect(await verifyPassword('a password of some length', stored)).toBe(false);
    }
  });

  it('has one dummy hash that no password of ours matches', async () => {
    const dummy = await dummyPasswordHash();
    expect(await dummyPasswordHash()).toBe(dummy);
    expect(await verifyPassword('admin-dev-password', dummy)).toBe(false);
  });
});
