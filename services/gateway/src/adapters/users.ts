/**
 * Dashboard users (`users`): creation and credential checks. The password is kept only as a
 * scrypt hash (`domain/passwords.ts`) and never leaves this module: every read selects
 * {@link USER_FIELDS}, which lacks it.
 */
import { z } from 'zod';

import type { ApiKeyRole, Prisma, PrismaClient } from '@app/db';

import {
  dummyPasswordHash,
  hashPassword,
  MAX_PASSWORD_LENGTH,
  MIN_PASSWORD_LENGTH,
  verifyPassword,
} from '../domain/passwords.js';
import { API_KEY_ROLES } from './api-keys.js';

/** A user as the API shows it: everything but the password hash. */
export interface UserRecord {
  id: string;
  /** Lowercased. */
  email: string;
  name: string;
  role: ApiKeyRole;
  createdAt: Date;
  updatedAt: Date;
  /** Null = may sign in. */
  disabledAt: Date | null;
}

/** The columns of {@link UserRecord}: a `select` that can never return the password hash. */
export const USER_FIELDS = {
  id: true,
  email: true,
  name: true,
  role: true,
  createdAt: true,
  updatedAt: true,
  disabledAt: true,
} as const satisfies Prisma.UserSelect;

/** Longest address SMTP carries (RFC 5321 §4.5.3.1.3 path limit). */
export const MAX_EMAIL_LENGTH = 254;

/** Emails are compared lowercased: `Alice@Example.com` and `alice@example.com` are one user. */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

const emailSchema = z.email().max(MAX_EMAIL_LENGTH);

/** What {@link createUser} needs; the password in clear, hashed before it is stored. */
export interface NewUser {
  email: string;
  name: string;
  role: string;
  password: string;
}

/**
 * Creates a user. Takes a transaction client, so the caller can commit it with its audit row.
 *
 * @throws RangeError when the email, name, role or password is not acceptable (the message says
 *   why). A taken email is Prisma's unique violation (`P2002`) on `users_email_key`.
 */
export async function createUser(
  db: Prisma.TransactionClient | PrismaClient,
  input: NewUser,
): Promise<UserRecord> {
  const email = normalizeEmail(input.email);
  if (!emailSchema.safeParse(email).success) {
    throw new RangeError(`"${input.email}" is not an email address`);
  }
  const name = input.name.trim();
  if (name === '' || name.length > 200) throw new RangeError('name is required (at most 200)');
  const role = API_KEY_ROLES.find((r) => r === input.role);
  if (role === undefined) {
    throw new RangeError(`role must be one of ${API_KEY_ROLES.join(', ')}, got "${input.role}"`);
  }
  if (input.password.length < MIN_PASSWORD_LENGTH || input.password.length > MAX_PASSWORD_LENGTH) {
    throw new RangeError(
      `the password must be ${MIN_PASSWORD_LENGTH} to ${MAX_PASSWORD_LENGTH} characters`,
    );
  }
  return db.user.create({
    data: { email, name, role, passwordHash: await hashPassword(input.password) },
    select: USER_FIELDS,
  });
}

/** Result of {@link UserStore.verifyCredentials}; the refusals only differ in logs. */
export type CredentialCheck =
  | { status: 'valid'; user: UserRecord }
  | { status: 'wrong' }
  | { status: 'disabled'; userId: string };

export interface UserStore {
  /** Checks an email and password; takes as long for an unknown email as for a wrong password. */
  verifyCredentials(email: string, password: string): Promise<CredentialCheck>;
}

export class PrismaUserStore implements UserStore {
  constructor(private readonly prisma: PrismaClient) {
    // Made now, so the first unknown email is not the one sign-in that takes twice as long.
    dummyPasswordHash().catch(() => undefined);
  }

  async verifyCredentials(email: string, password: string): Promise<CredentialCheck> {
    const row = await this.prisma.user.findUnique({
      where: { email: normalizeEmail(email) },
      select: { ...USER_FIELDS, passwordHash: true },
    });
    // An unknown email still costs one scrypt, so the answer's timing does not say it is unknown.
    const ok = await verifyPassword(password, row?.passwordHash ?? (await dummyPasswordHash()));
    if (row === null || !ok) return { status: 'wrong' };
    const { passwordHash: _hash, ...user } = row;
    if (user.disabledAt !== null) return { status: 'disabled', userId: user.id };
    return { status: 'valid', user };
  }
}
