-- Issue 10, privacy: audit rows hold no full phone number, and call events can be aged out.
--
-- audit_logs stays append-only (20261125000100: UPDATE, DELETE and TRUNCATE are refused by
-- triggers, with no exception). A caller's erasure request (`POST /v1/data-subjects/{phone}/erase`)
-- and the retention job therefore never need to rewrite an audit row: a number never gets into
-- one. Every E.164 number in `resource_id`, `before` and `after` is masked on insert, whoever
-- writes the row (each admin route, the retention job, a future writer), to `+` the first two
-- digits `***` the last two (`+14155550100` -> `+14***00`). An audit row still says who changed
-- which resource (its id) and when; the number itself lives only in the data it describes.
--
-- Hand-written: Prisma's schema language cannot express functions or triggers, so
-- `prisma migrate diff` neither creates nor sees them. Only the index below is in schema.prisma.

-- CreateFunction
-- Masks every E.164-looking number (`+`, 7 to 15 digits, not followed by a digit) in `value`.
-- A masked number has `*` in it, so it is never a valid E.164 number, and masking twice is a
-- no-op. The retention job and the erasure API mask `calls` and `call_requests` with it too, so
-- every masked number in the database has the one form (`maskPhone` in the gateway matches it).
CREATE FUNCTION "mask_phone_numbers"(value text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT regexp_replace(value, '\+([1-9][0-9])[0-9]{3,11}([0-9]{2})(?![0-9])', '+\1***\2', 'g')
$$;

-- CreateFunction
CREATE FUNCTION "audit_logs_mask_phone_numbers"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.resource_id := "mask_phone_numbers"(NEW.resource_id);
    -- Inside JSON strings a mask only adds `*`: the text stays valid JSON.
    NEW.before := "mask_phone_numbers"(NEW.before::text)::jsonb;
    NEW.after := "mask_phone_numbers"(NEW.after::text)::jsonb;
    RETURN NEW;
END;
$$;

-- CreateTrigger
CREATE TRIGGER "audit_logs_mask_phone_numbers"
    BEFORE INSERT ON "audit_logs"
    FOR EACH ROW EXECUTE FUNCTION "audit_logs_mask_phone_numbers"();

-- Rows written before this migration (do-not-call, phone-number, human-agent and campaign
-- rows may hold numbers): masked once, here, with the append-only trigger off inside this
-- migration's transaction only. This is the one sanctioned rewrite of audit_logs; no API route
-- or service code path disables the trigger.
ALTER TABLE "audit_logs" DISABLE TRIGGER "audit_logs_append_only";
UPDATE "audit_logs"
SET "resource_id" = "mask_phone_numbers"("resource_id"),
    "before" = "mask_phone_numbers"("before"::text)::jsonb,
    "after" = "mask_phone_numbers"("after"::text)::jsonb
WHERE "resource_id" ~ '\+[1-9][0-9]{6,14}'
   OR "before"::text ~ '\+[1-9][0-9]{6,14}'
   OR "after"::text ~ '\+[1-9][0-9]{6,14}';
ALTER TABLE "audit_logs" ENABLE TRIGGER "audit_logs_append_only";

-- CreateIndex
CREATE INDEX "call_events_ts_idx" ON "call_events"("ts");
