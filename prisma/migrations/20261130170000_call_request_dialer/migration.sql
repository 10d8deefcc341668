-- AlterEnum
ALTER TYPE "call_request_status" ADD VALUE 'completed';

-- DropForeignKey
-- call_id is now our call id of the current attempt, set when the dialer claims it: the calls
-- row is projected from the call's events later (or never, when the provider refuses the call).
ALTER TABLE "call_requests" DROP CONSTRAINT "call_requests_call_id_fkey";

-- AlterTable
ALTER TABLE "call_requests" ADD COLUMN     "attempts" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "campaign_id" TEXT,
ADD COLUMN     "checked_at" TIMESTAMPTZ(3),
ADD COLUMN     "claim_token" UUID,
ADD COLUMN     "claimed_by" TEXT,
ADD COLUMN     "contact_id" TEXT,
ADD COLUMN     "dialed_at" TIMESTAMPTZ(3),
ADD COLUMN     "finished_at" TIMESTAMPTZ(3),
ADD COLUMN     "issues" JSONB,
ADD COLUMN     "last_outcome" TEXT,
ADD COLUMN     "metadata" JSONB NOT NULL DEFAULT '{}',
ADD COLUMN     "next_attempt_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
ADD COLUMN     "provider_call_sid" TEXT,
ADD COLUMN     "transient_failures" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "transport" "phone_transport" NOT NULL DEFAULT 'media_streams';

-- Backfill: a request written before this migration is first due at its scheduled time.
UPDATE "call_requests" SET "next_attempt_at" = "scheduled_at";

-- CreateIndex
CREATE UNIQUE INDEX "call_requests_provider_call_sid_key" ON "call_requests"("provider_call_sid");

-- CreateIndex
CREATE INDEX "call_requests_status_next_attempt_at_idx" ON "call_requests"("status", "next_attempt_at");

-- CreateIndex
CREATE INDEX "call_requests_status_checked_at_idx" ON "call_requests"("status", "checked_at");

-- CreateIndex
CREATE INDEX "call_requests_campaign_id_idx" ON "call_requests"("campaign_id");
