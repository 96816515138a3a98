-- 026_ingest_cost.sql - what ingest's batch pays per row, less
-- (docs/architecture.md, "Where the time goes").
--
-- The foreign keys from the rows every batch writes (training_record,
-- session_event, position) to terminal: each row paid a trigger and a
-- lookup of its terminal, locked FOR KEY SHARE (2 to 4 us a row).  What
-- they kept true, that every row names a terminal that exists, holds as
-- well by never removing a terminal (none is: a terminal is disabled,
-- hoursctl terminal disable): the trigger below refuses to delete a
-- terminal or to truncate the table (its id, an identity GENERATED
-- ALWAYS, is never changed either).  The other
-- tables keep theirs (rare rows, off the batch's hot path).
--
-- Each index of training_record was checked against every statement of
-- sql/ and hoursctl: the primary key (ingest's ON CONFLICT, the judge,
-- the lookups of stored records), (terminal_id, record_time)
-- (terminal_lookup.sql at every login, finding_terminal_silent) and
-- (student_no, record_time) (audit_student_known.sql, audit_rejected.sql,
-- audit_students_of) are each used: all three stay.

ALTER TABLE training_record DROP CONSTRAINT training_record_terminal_id_fkey;
ALTER TABLE session_event DROP CONSTRAINT session_event_terminal_id_fkey;
ALTER TABLE position DROP CONSTRAINT position_terminal_id_fkey;

CREATE FUNCTION terminal_kept() RETURNS trigger
	LANGUAGE plpgsql SET search_path = public, pg_catalog AS $$
BEGIN
	RAISE EXCEPTION 'a terminal is never removed (its records name it): disable it instead'
		USING ERRCODE = 'restrict_violation';
END $$;
CREATE TRIGGER terminal_kept BEFORE DELETE ON terminal
	FOR EACH ROW EXECUTE FUNCTION terminal_kept();
CREATE TRIGGER terminal_kept_truncate BEFORE TRUNCATE ON terminal
	FOR EACH STATEMENT EXECUTE FUNCTION terminal_kept();
