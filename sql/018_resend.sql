-- 018_resend.sql - a message a terminal sends again (docs/protocol.md,
-- "Sent again"): a copy identical to what is stored is answered with the
-- stored verdict and changes nothing; a copy that differs under the same
-- identity is a conflict, kept here beside the stored one (as
-- training_record_conflict keeps a record's), never counted.

-- A login or logout whose identity (terminal, kind, time, person) is
-- stored with other bytes.
CREATE TABLE session_event_conflict (
	terminal_id  bigint NOT NULL REFERENCES terminal,
	kind         text NOT NULL,
	event_time   timestamptz NOT NULL,
	person_no    text NOT NULL,
	raw          bytea NOT NULL,              -- the 0x0900 body as received
	raw_sha256   bytea NOT NULL,
	received_at  timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (terminal_id, kind, event_time, person_no, raw_sha256)
);

-- A photo whose number (terminal, photo number) is stored with other data.
CREATE TABLE photo_conflict (
	terminal_id  bigint NOT NULL REFERENCES terminal,
	photo_no     text NOT NULL,
	size         integer NOT NULL,
	sha256       bytea NOT NULL,
	data         bytea NOT NULL,
	received_at  timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (terminal_id, photo_no, sha256)
);

-- Evidence like the rest: chained, append-only, scoped by terminal.
SELECT audit_join('session_event_conflict', '{terminal_id,kind,event_time,person_no,raw_sha256}',
                  'received_at', 'audit_terminal_school(t.terminal_id)');
SELECT audit_join('photo_conflict', '{terminal_id,photo_no,sha256}', 'received_at',
                  'audit_terminal_school(t.terminal_id)');
SELECT audit_scope(x, 'terminal_id IN (SELECT audit_terminals_of(current_user))')
  FROM unnest(ARRAY['session_event_conflict', 'photo_conflict']) x;
