-- HTTP tools (issue 8): tools configured without code, called by the tool-runner for the
-- agents that list them in tool_names.

-- CreateEnum
CREATE TYPE "http_tool_method" AS ENUM ('GET', 'POST', 'PUT', 'PATCH', 'DELETE');

-- CreateTable
CREATE TABLE "http_tools" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "name" TEXT NOT NULL,
    "description" TEXT NOT NULL,
    "parameters" JSONB NOT NULL DEFAULT '{"type":"object","properties":{}}',
    "url" TEXT NOT NULL,
    "method" "http_tool_method" NOT NULL DEFAULT 'POST',
    "headers" JSONB NOT NULL DEFAULT '{}',
    "signing_secret" TEXT,
    "timeout_ms" INTEGER NOT NULL DEFAULT 5000,
    "max_retries" INTEGER NOT NULL DEFAULT 0,
    "retry_non_idempotent" BOOLEAN NOT NULL DEFAULT false,
    "max_response_bytes" INTEGER NOT NULL DEFAULT 65536,
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "http_tools_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "http_tools_name_key" ON "http_tools"("name");
