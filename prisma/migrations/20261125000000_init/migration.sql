-- CreateEnum
CREATE TYPE "phone_transport" AS ENUM ('media_streams', 'sip');

-- CreateEnum
CREATE TYPE "call_direction" AS ENUM ('inbound', 'outbound');

-- CreateEnum
CREATE TYPE "call_status" AS ENUM ('queued', 'initiated', 'ringing', 'in_progress', 'completed', 'busy', 'no_answer', 'canceled', 'failed');

-- CreateEnum
CREATE TYPE "transcript_role" AS ENUM ('user', 'assistant', 'system');

-- CreateEnum
CREATE TYPE "campaign_status" AS ENUM ('draft', 'running', 'paused', 'completed', 'canceled');

-- CreateEnum
CREATE TYPE "campaign_contact_status" AS ENUM ('pending', 'dialing', 'completed', 'failed', 'skipped', 'canceled');

-- CreateEnum
CREATE TYPE "call_request_status" AS ENUM ('pending', 'dialing', 'dialed', 'failed', 'rejected', 'canceled');

-- CreateEnum
CREATE TYPE "handoff_mode" AS ENUM ('cold', 'warm');

-- CreateEnum
CREATE TYPE "handoff_status" AS ENUM ('requested', 'queued', 'ringing', 'connected', 'completed', 'abandoned', 'failed', 'canceled');

-- CreateEnum
CREATE TYPE "human_agent_status" AS ENUM ('offline', 'available', 'busy', 'away');

-- CreateEnum
CREATE TYPE "api_key_role" AS ENUM ('admin', 'operator', 'viewer');

-- CreateTable
CREATE TABLE "agents" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "name" TEXT NOT NULL,
    "instructions" TEXT NOT NULL,
    "voice" TEXT NOT NULL DEFAULT 'alloy',
    "model" TEXT NOT NULL DEFAULT 'gpt-realtime',
    "tool_names" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "transfer_targets" JSONB NOT NULL DEFAULT '[]',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "agents_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "phone_numbers" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "e164" TEXT NOT NULL,
    "transport" "phone_transport" NOT NULL DEFAULT 'media_streams',
    "agent_id" UUID NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "phone_numbers_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "calls" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "twilio_call_sid" TEXT,
    "openai_call_id" TEXT,
    "direction" "call_direction" NOT NULL,
    "transport" "phone_transport",
    "from_number" TEXT NOT NULL,
    "to_number" TEXT NOT NULL,
    "status" "call_status" NOT NULL DEFAULT 'queued',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "answered_at" TIMESTAMPTZ(3),
    "ended_at" TIMESTAMPTZ(3),
    "end_reason" TEXT,
    "agent_id" UUID,
    "campaign_id" UUID,
    "campaign_contact_id" UUID,
    "bridge_pod" TEXT,
    "variables" JSONB,
    "setup_ms" INTEGER,
    "first_audio_ms" INTEGER,
    "metrics" JSONB,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "calls_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "call_events" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "event_id" TEXT NOT NULL,
    "call_id" UUID NOT NULL,
    "type" TEXT NOT NULL,
    "ts" TIMESTAMPTZ(3) NOT NULL,
    "data" JSONB NOT NULL,

    CONSTRAINT "call_events_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "transcript_turns" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "call_id" UUID NOT NULL,
    "role" "transcript_role" NOT NULL,
    "text" TEXT NOT NULL,
    "item_id" TEXT,
    "started_at" TIMESTAMPTZ(3),
    "ended_at" TIMESTAMPTZ(3),
    "sequence" INTEGER NOT NULL,
    "source_event_id" TEXT NOT NULL,

    CONSTRAINT "transcript_turns_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "tool_invocations" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "invocation_id" TEXT NOT NULL,
    "call_id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "args" JSONB NOT NULL,
    "result" JSONB,
    "error" TEXT,
    "latency_ms" INTEGER,
    "started_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finished_at" TIMESTAMPTZ(3),

    CONSTRAINT "tool_invocations_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "campaigns" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "name" TEXT NOT NULL,
    "agent_id" UUID NOT NULL,
    "from_numbers" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "start_at" TIMESTAMPTZ(3),
    "end_at" TIMESTAMPTZ(3),
    "calling_windows" JSONB NOT NULL DEFAULT '[]',
    "timezone" TEXT NOT NULL DEFAULT 'UTC',
    "max_concurrent_calls" INTEGER NOT NULL DEFAULT 1,
    "calls_per_minute" INTEGER NOT NULL DEFAULT 10,
    "retry_policy" JSONB NOT NULL DEFAULT '{}',
    "status" "campaign_status" NOT NULL DEFAULT 'draft',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "campaigns_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "campaign_contacts" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "campaign_id" UUID NOT NULL,
    "phone" TEXT NOT NULL,
    "name" TEXT,
    "variables" JSONB NOT NULL DEFAULT '{}',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "max_attempts" INTEGER,
    "status" "campaign_contact_status" NOT NULL DEFAULT 'pending',
    "next_attempt_at" TIMESTAMPTZ(3),
    "timezone" TEXT,
    "last_call_id" UUID,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "campaign_contacts_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "call_requests" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "idempotency_key" TEXT NOT NULL,
    "origin" TEXT NOT NULL,
    "to_number" TEXT NOT NULL,
    "from_number" TEXT,
    "agent_id" UUID,
    "variables" JSONB NOT NULL DEFAULT '{}',
    "scheduled_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "status" "call_request_status" NOT NULL DEFAULT 'pending',
    "error" TEXT,
    "call_id" UUID,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "call_requests_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "human_agents" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "name" TEXT NOT NULL,
    "skills" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "phone_number" TEXT,
    "sip_uri" TEXT,
    "twilio_client_identity" TEXT,
    "status" "human_agent_status" NOT NULL DEFAULT 'offline',
    "last_seen_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "human_agents_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "handoffs" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "call_id" UUID NOT NULL,
    "reason" TEXT NOT NULL,
    "summary" TEXT,
    "trigger" TEXT NOT NULL,
    "skill" TEXT,
    "mode" "handoff_mode" NOT NULL DEFAULT 'cold',
    "status" "handoff_status" NOT NULL DEFAULT 'requested',
    "human_agent_id" UUID,
    "requested_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "connected_at" TIMESTAMPTZ(3),
    "ended_at" TIMESTAMPTZ(3),
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "handoffs_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "do_not_call_entries" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "phone" TEXT NOT NULL,
    "reason" TEXT,
    "source" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "do_not_call_entries_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "consent_records" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "phone" TEXT NOT NULL,
    "purpose" TEXT NOT NULL,
    "method" TEXT NOT NULL,
    "granted_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "revoked_at" TIMESTAMPTZ(3),
    "call_id" UUID,

    CONSTRAINT "consent_records_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "audit_logs" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "actor" TEXT NOT NULL,
    "action" TEXT NOT NULL,
    "resource_type" TEXT NOT NULL,
    "resource_id" TEXT,
    "before" JSONB,
    "after" JSONB,
    "at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "audit_logs_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "api_keys" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "name" TEXT NOT NULL,
    "hashed_key" TEXT NOT NULL,
    "prefix" TEXT NOT NULL,
    "role" "api_key_role" NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_used_at" TIMESTAMPTZ(3),
    "revoked_at" TIMESTAMPTZ(3),

    CONSTRAINT "api_keys_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "agents_name_key" ON "agents"("name");

-- CreateIndex
CREATE UNIQUE INDEX "phone_numbers_e164_key" ON "phone_numbers"("e164");

-- CreateIndex
CREATE INDEX "phone_numbers_agent_id_idx" ON "phone_numbers"("agent_id");

-- CreateIndex
CREATE UNIQUE INDEX "calls_twilio_call_sid_key" ON "calls"("twilio_call_sid");

-- CreateIndex
CREATE UNIQUE INDEX "calls_openai_call_id_key" ON "calls"("openai_call_id");

-- CreateIndex
CREATE INDEX "calls_created_at_idx" ON "calls"("created_at" DESC);

-- CreateIndex
CREATE INDEX "calls_agent_id_created_at_idx" ON "calls"("agent_id", "created_at" DESC);

-- CreateIndex
CREATE INDEX "calls_campaign_id_created_at_idx" ON "calls"("campaign_id", "created_at" DESC);

-- CreateIndex
CREATE INDEX "calls_status_created_at_idx" ON "calls"("status", "created_at" DESC);

-- CreateIndex
CREATE INDEX "calls_from_number_created_at_idx" ON "calls"("from_number", "created_at" DESC);

-- CreateIndex
CREATE INDEX "calls_to_number_created_at_idx" ON "calls"("to_number", "created_at" DESC);

-- CreateIndex
CREATE INDEX "calls_campaign_contact_id_idx" ON "calls"("campaign_contact_id");

-- CreateIndex
CREATE INDEX "calls_bridge_pod_idx" ON "calls"("bridge_pod");

-- CreateIndex
CREATE UNIQUE INDEX "call_events_event_id_key" ON "call_events"("event_id");

-- CreateIndex
CREATE INDEX "call_events_call_id_ts_idx" ON "call_events"("call_id", "ts");

-- CreateIndex
CREATE UNIQUE INDEX "transcript_turns_source_event_id_key" ON "transcript_turns"("source_event_id");

-- CreateIndex
CREATE INDEX "transcript_turns_call_id_sequence_idx" ON "transcript_turns"("call_id", "sequence");

-- CreateIndex
CREATE UNIQUE INDEX "tool_invocations_invocation_id_key" ON "tool_invocations"("invocation_id");

-- CreateIndex
CREATE INDEX "tool_invocations_call_id_started_at_idx" ON "tool_invocations"("call_id", "started_at");

-- CreateIndex
CREATE INDEX "tool_invocations_name_started_at_idx" ON "tool_invocations"("name", "started_at" DESC);

-- CreateIndex
CREATE INDEX "campaigns_status_idx" ON "campaigns"("status");

-- CreateIndex
CREATE INDEX "campaigns_agent_id_idx" ON "campaigns"("agent_id");

-- CreateIndex
CREATE INDEX "campaign_contacts_campaign_id_status_next_attempt_at_idx" ON "campaign_contacts"("campaign_id", "status", "next_attempt_at");

-- CreateIndex
CREATE INDEX "campaign_contacts_last_call_id_idx" ON "campaign_contacts"("last_call_id");

-- CreateIndex
CREATE UNIQUE INDEX "campaign_contacts_campaign_id_phone_key" ON "campaign_contacts"("campaign_id", "phone");

-- CreateIndex
CREATE UNIQUE INDEX "call_requests_idempotency_key_key" ON "call_requests"("idempotency_key");

-- CreateIndex
CREATE UNIQUE INDEX "call_requests_call_id_key" ON "call_requests"("call_id");

-- CreateIndex
CREATE INDEX "call_requests_status_scheduled_at_idx" ON "call_requests"("status", "scheduled_at");

-- CreateIndex
CREATE UNIQUE INDEX "human_agents_twilio_client_identity_key" ON "human_agents"("twilio_client_identity");

-- CreateIndex
CREATE INDEX "human_agents_status_idx" ON "human_agents"("status");

-- CreateIndex
CREATE INDEX "handoffs_call_id_idx" ON "handoffs"("call_id");

-- CreateIndex
CREATE INDEX "handoffs_status_requested_at_idx" ON "handoffs"("status", "requested_at");

-- CreateIndex
CREATE INDEX "handoffs_human_agent_id_idx" ON "handoffs"("human_agent_id");

-- CreateIndex
CREATE UNIQUE INDEX "do_not_call_entries_phone_key" ON "do_not_call_entries"("phone");

-- CreateIndex
CREATE INDEX "consent_records_phone_purpose_idx" ON "consent_records"("phone", "purpose");

-- CreateIndex
CREATE INDEX "consent_records_call_id_idx" ON "consent_records"("call_id");

-- CreateIndex
CREATE INDEX "audit_logs_at_idx" ON "audit_logs"("at" DESC);

-- CreateIndex
CREATE INDEX "audit_logs_resource_type_resource_id_idx" ON "audit_logs"("resource_type", "resource_id");

-- CreateIndex
CREATE INDEX "audit_logs_actor_at_idx" ON "audit_logs"("actor", "at" DESC);

-- CreateIndex
CREATE UNIQUE INDEX "api_keys_hashed_key_key" ON "api_keys"("hashed_key");

-- AddForeignKey
ALTER TABLE "phone_numbers" ADD CONSTRAINT "phone_numbers_agent_id_fkey" FOREIGN KEY ("agent_id") REFERENCES "agents"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "calls" ADD CONSTRAINT "calls_agent_id_fkey" FOREIGN KEY ("agent_id") REFERENCES "agents"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "calls" ADD CONSTRAINT "calls_campaign_id_fkey" FOREIGN KEY ("campaign_id") REFERENCES "campaigns"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "calls" ADD CONSTRAINT "calls_campaign_contact_id_fkey" FOREIGN KEY ("campaign_contact_id") REFERENCES "campaign_contacts"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "call_events" ADD CONSTRAINT "call_events_call_id_fkey" FOREIGN KEY ("call_id") REFERENCES "calls"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "transcript_turns" ADD CONSTRAINT "transcript_turns_call_id_fkey" FOREIGN KEY ("call_id") REFERENCES "calls"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "tool_invocations" ADD CONSTRAINT "tool_invocations_call_id_fkey" FOREIGN KEY ("call_id") REFERENCES "calls"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "campaigns" ADD CONSTRAINT "campaigns_agent_id_fkey" FOREIGN KEY ("agent_id") REFERENCES "agents"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "campaign_contacts" ADD CONSTRAINT "campaign_contacts_campaign_id_fkey" FOREIGN KEY ("campaign_id") REFERENCES "campaigns"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "campaign_contacts" ADD CONSTRAINT "campaign_contacts_last_call_id_fkey" FOREIGN KEY ("last_call_id") REFERENCES "calls"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "call_requests" ADD CONSTRAINT "call_requests_agent_id_fkey" FOREIGN KEY ("agent_id") REFERENCES "agents"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "call_requests" ADD CONSTRAINT "call_requests_call_id_fkey" FOREIGN KEY ("call_id") REFERENCES "calls"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "handoffs" ADD CONSTRAINT "handoffs_call_id_fkey" FOREIGN KEY ("call_id") REFERENCES "calls"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "handoffs" ADD CONSTRAINT "handoffs_human_agent_id_fkey" FOREIGN KEY ("human_agent_id") REFERENCES "human_agents"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "consent_records" ADD CONSTRAINT "consent_records_call_id_fkey" FOREIGN KEY ("call_id") REFERENCES "calls"("id") ON DELETE SET NULL ON UPDATE CASCADE;
