-- 024_push_body_log.sql - the body of every packet pushed enters the audit
-- log (docs/audit.md, "A proof per pushed part"): hoursctl audit prove
-- proves a part as pushed, and its body is bound to a signed tree head
-- as its records are.
--
-- One row per body a packet was built with (a re-built body is another
-- row): the packet, its student and part, the SHA-256 of the body's
-- UTF-8 bytes.  Written by the trigger on push_packet, never by hand;
-- append-only evidence.  Its leaf: the packet id as text, the student,
-- the part, the digest (no row text: check-proof reads it without the
-- database).

CREATE TABLE push_body_logged (
	packet_id    uuid NOT NULL REFERENCES push_packet,
	student_no   text NOT NULL,
	part         smallint NOT NULL,
	body_sha256  bytea NOT NULL CHECK (length(body_sha256) = 32),
	logged_at    timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (packet_id, body_sha256)
);

-- SECURITY DEFINER: whoever builds the body logs it, nobody writes it by hand.
CREATE FUNCTION push_body_log() RETURNS trigger
	LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_catalog AS $$
BEGIN
	INSERT INTO push_body_logged (packet_id, student_no, part, body_sha256)
	VALUES (NEW.id, NEW.student_no, NEW.part, sha256(convert_to(NEW.body, 'UTF8')))
	ON CONFLICT DO NOTHING;
	RETURN NULL;
END $$;
CREATE TRIGGER push_body_log AFTER INSERT OR UPDATE OF body ON push_packet
	FOR EACH ROW WHEN (NEW.body IS NOT NULL) EXECUTE FUNCTION push_body_log();

SELECT audit_join('push_body_logged', '{packet_id,body_sha256}', 'logged_at',
                  'packet_school(t.student_no, t.part)',
                  'audit_leaf_text(t.packet_id::text) || audit_leaf_text(t.student_no)'
                  ' || int2send(t.part) || t.body_sha256');

-- The bodies built before: logged now.
INSERT INTO push_body_logged (packet_id, student_no, part, body_sha256)
SELECT id, student_no, part, sha256(convert_to(body, 'UTF8'))
  FROM push_packet WHERE body IS NOT NULL;

-- The roles (009): the liaison reads what was pushed, a district auditor
-- its district's packets.
INSERT INTO audit_liaison_table VALUES ('push_body_logged');
SELECT audit_scope('push_body_logged', 'packet_id IN (SELECT id FROM push_packet)');

-- A row's batch, found by its transaction (audit prove: the batch whose
-- [lo, hi) holds a row's audit_xid is the last one with lo at or below it).
CREATE INDEX audit_batch_lo ON audit_batch (lo);
