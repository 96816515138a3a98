-- 014_evidence_verify.sql - what `hoursctl audit verify` needs to check a
-- stored frame against the certificate that signed it (docs/audit.md,
-- "What the terminals signed"), and a district auditor's findings.

-- ---- a terminal's certificates by time ----

-- Every certificate a terminal has had, each in force from since until
-- the since of the next one (terminal_cert_history): a record or event
-- is checked against the one in force at its own time, so that replacing
-- a certificate breaks nothing signed before.  The first of a terminal is
-- in force from -infinity (what it signed before it was provisioned is
-- checked against it).  Written by the trigger on terminal, never by hand;
-- append-only evidence.
CREATE TABLE terminal_cert (
	terminal_id          bigint NOT NULL REFERENCES terminal,
	since                timestamptz NOT NULL,
	cert_pem             text NOT NULL,
	cert_sha256          bytea NOT NULL CHECK (length(cert_sha256) = 32),
	cert_not_after       timestamptz NOT NULL,
	sign_cert_pem        text,
	sign_cert_sha256     bytea CHECK (length(sign_cert_sha256) = 32),
	sign_cert_not_after  timestamptz,
	PRIMARY KEY (terminal_id, since)
);

INSERT INTO terminal_cert
SELECT id, '-infinity', cert_pem, cert_sha256, cert_not_after, sign_cert_pem, sign_cert_sha256,
       sign_cert_not_after
  FROM terminal;

-- A terminal added, or its TLS or signing certificate replaced: the new
-- pair kept from now (clock_timestamp(): two replacements in one
-- transaction are two rows).  SECURITY DEFINER: whoever may change the
-- terminal keeps its history, and nobody writes the history by hand.
CREATE FUNCTION terminal_cert_keep() RETURNS trigger
	LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_catalog AS $$
BEGIN
	IF TG_OP = 'UPDATE' AND NEW.cert_sha256 = OLD.cert_sha256
	   AND NEW.sign_cert_sha256 IS NOT DISTINCT FROM OLD.sign_cert_sha256 THEN
		RETURN NULL;
	END IF;
	INSERT INTO terminal_cert VALUES (NEW.id,
		CASE WHEN TG_OP = 'INSERT' THEN '-infinity'::timestamptz ELSE clock_timestamp() END,
		NEW.cert_pem, NEW.cert_sha256, NEW.cert_not_after, NEW.sign_cert_pem,
		NEW.sign_cert_sha256, NEW.sign_cert_not_after);
	RETURN NULL;
END $$;
CREATE TRIGGER terminal_cert_keep AFTER INSERT OR UPDATE ON terminal
	FOR EACH ROW EXECUTE FUNCTION terminal_cert_keep();

-- Each certificate with the end of its time in force (NULL: in force now).
CREATE VIEW terminal_cert_history WITH (security_invoker = true) AS
SELECT c.terminal_id, t.phone, c.since AS in_force_from,
       lead(c.since) OVER (PARTITION BY c.terminal_id ORDER BY c.since) AS in_force_until,
       encode(c.cert_sha256, 'hex') AS cert_sha256, c.cert_not_after,
       encode(c.sign_cert_sha256, 'hex') AS sign_cert_sha256, c.sign_cert_not_after
  FROM terminal_cert c JOIN terminal t ON t.id = c.terminal_id;

SELECT audit_protect('terminal_cert');
SELECT audit_scope('terminal_cert', 'terminal_id IN (SELECT audit_terminals_of(current_user))');

-- ---- a district auditor's findings ----

-- The syllabus is the same for every school: a district auditor reads it
-- all (finding_content_reduced joins it; it was not granted, and
-- `hoursctl findings` failed for district auditors).
SELECT audit_scope('syllabus_part', 'true');
