-- Hand-written: Prisma's schema language cannot express triggers, so `prisma migrate diff`
-- neither creates nor sees this.
--
-- audit_logs is append-only (ARCHITECTURE.md "Security": audit trail of every admin action).
-- Rows are inserted and never changed. Retention, when it comes, is a migration of its own.

-- CreateFunction
CREATE FUNCTION "audit_logs_reject_change"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_logs is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

-- CreateTrigger
CREATE TRIGGER "audit_logs_append_only"
    BEFORE UPDATE OR DELETE ON "audit_logs"
    FOR EACH ROW EXECUTE FUNCTION "audit_logs_reject_change"();

-- CreateTrigger
CREATE TRIGGER "audit_logs_no_truncate"
    BEFORE TRUNCATE ON "audit_logs"
    FOR EACH STATEMENT EXECUTE FUNCTION "audit_logs_reject_change"();
