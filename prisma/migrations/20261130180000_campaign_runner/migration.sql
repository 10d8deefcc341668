-- Campaign runner: per-campaign pacing across scheduler replicas (the next start time) and
-- the count of started calls (rotates the from-number pool).

-- AlterTable
ALTER TABLE "campaigns" ADD COLUMN     "calls_started" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "next_call_at" TIMESTAMPTZ(3);
