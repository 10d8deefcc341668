-- Handoff routing: the longest-idle available human first (available_since), and what a
-- handoff was sent to or why it failed.

-- AlterTable
ALTER TABLE "human_agents" ADD COLUMN     "available_since" TIMESTAMPTZ(3);

-- AlterTable
ALTER TABLE "handoffs" ADD COLUMN     "failure_reason" TEXT,
ADD COLUMN     "target" TEXT;

-- CreateIndex
CREATE INDEX "human_agents_status_available_since_idx" ON "human_agents"("status", "available_since");
