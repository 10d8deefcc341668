-- AlterTable
ALTER TABLE "agents" ADD COLUMN     "greet_first" BOOLEAN NOT NULL DEFAULT true,
ADD COLUMN     "greeting" TEXT;

-- AlterTable
ALTER TABLE "calls" ADD COLUMN     "duration_ms" INTEGER;
