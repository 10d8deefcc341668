-- Dialer policies (issue 7): named number pools, a campaign's consent purpose and number pool,
-- and the retry policy and pool a call request carries to the dialer.

-- AlterTable
ALTER TABLE "phone_numbers" ADD COLUMN     "pool" TEXT;

-- AlterTable
ALTER TABLE "campaigns" ADD COLUMN     "consent_purpose" TEXT,
ADD COLUMN     "from_pool" TEXT;

-- AlterTable
ALTER TABLE "call_requests" ADD COLUMN     "from_pool" TEXT,
ADD COLUMN     "retry_policy" JSONB;

-- CreateIndex
CREATE INDEX "phone_numbers_pool_idx" ON "phone_numbers"("pool");
