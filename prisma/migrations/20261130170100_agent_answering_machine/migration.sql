-- CreateEnum
CREATE TYPE "amd_mode" AS ENUM ('off', 'hangup', 'voicemail');

-- AlterTable
ALTER TABLE "agents" ADD COLUMN     "amd_mode" "amd_mode" NOT NULL DEFAULT 'off',
ADD COLUMN     "voicemail_message" TEXT;
