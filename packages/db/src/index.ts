/**
 * `@app/db`: the generated Prisma client for `prisma/schema.prisma`, the migration runner and a
 * readiness check. Test helpers are in `@app/db/testing`, the drift check in `@app/db/drift`.
 */

export { attachDatabase, type DatabaseHost } from './attach.js';
export {
  checkDatabase,
  createPrismaClient,
  type CheckDatabaseOptions,
  type CreatePrismaClientOptions,
  type DbLogger,
} from './client.js';
export {
  defaultMigrationsDir,
  markMigrationRolledBack,
  migrate,
  migrationChecksum,
  MigrationError,
  MigrationErrorCode,
  readMigrations,
  type LocalMigration,
  type MigrateOptions,
  type MigrateResult,
  type MigrationLogger,
} from './migrate.js';

// The generated client (prisma-client generator, src/generated/prisma; `pnpm db:generate`).
export { Prisma, PrismaClient } from './generated/prisma/client.js';
export type {
  Agent,
  ApiKey,
  AuditLog,
  Call,
  CallEvent,
  CallRequest,
  Campaign,
  CampaignContact,
  ConsentRecord,
  DoNotCallEntry,
  Handoff,
  HttpTool,
  HumanAgent,
  PhoneNumber,
  ToolInvocation,
  TranscriptTurn,
} from './generated/prisma/client.js';
export {
  AmdMode,
  ApiKeyRole,
  CallDirection,
  CallRequestStatus,
  CallStatus,
  CampaignContactStatus,
  CampaignStatus,
  HandoffMode,
  HandoffStatus,
  HttpToolMethod,
  HumanAgentStatus,
  PhoneTransport,
  TranscriptRole,
} from './generated/prisma/client.js';
