import { defineConfig } from 'prisma/config';

// Prisma 7 reads the connection URL here, not from schema.prisma. `prisma generate` needs no
// database, so a missing DATABASE_URL must not fail it (`env()` from prisma/config would throw);
// commands that connect (`migrate deploy`, `db seed`) fail on their own with a clear message.
export default defineConfig({
  schema: '../../prisma/schema.prisma',
  migrations: {
    path: '../../prisma/migrations',
    seed: 'tsx --conditions=source ../../prisma/seed.ts',
  },
  datasource: { url: process.env.DATABASE_URL ?? '' },
});
