-- Issue 10, privacy: consent records say who recorded them, agents can say a recording/AI
-- disclosure first, and a do-not-call entry asked for by voice names its call.

-- AlterTable
ALTER TABLE "agents" ADD COLUMN     "disclosure" TEXT;

-- AlterTable
ALTER TABLE "consent_records" ADD COLUMN     "recorded_by" TEXT NOT NULL DEFAULT 'system',
ADD COLUMN     "revoked_by" TEXT;

-- AlterTable
ALTER TABLE "do_not_call_entries" ADD COLUMN     "call_id" UUID;

-- CreateIndex
CREATE INDEX "do_not_call_entries_call_id_idx" ON "do_not_call_entries"("call_id");

-- AddForeignKey
ALTER TABLE "do_not_call_entries" ADD CONSTRAINT "do_not_call_entries_call_id_fkey" FOREIGN KEY ("call_id") REFERENCES "calls"("id") ON DELETE SET NULL ON UPDATE CASCADE;
