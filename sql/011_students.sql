-- 011_students.sql - students from enrolment to the push: enrolment by
-- the school, scheduling (排班), and the back-filled hours of legacy
-- students (存量学员补录) on the three-party form (docs/students.md).
--
-- Evidence is append-only: a form and each step on it (imported,
-- approved, rejected) are rows that are inserted, never updated; a
-- form's state is its steps (the view backfill_state).  The identity-card
-- number is kept apart (student_identity) so that roles can leave it out;
-- everyone else has student.id_card_sha256.

-- ---- enrolment ----

-- The student as the school enrolled them.  A student row may still be
-- missing for a student the terminals name (logins and records never
-- required one); hoursctl student add|import writes them.
ALTER TABLE student
	ADD COLUMN enrolled_on date,                  -- the enrolment date (the school's)
	ADD COLUMN pre_entered_on date,               -- the police platform's pre-entry date
	ADD COLUMN enrolled_by text NOT NULL DEFAULT current_user,
	ADD CONSTRAINT student_no_16 CHECK (student_no ~ '^[ -~]{16}$') NOT VALID,
	ADD CONSTRAINT student_legacy_dated CHECK (NOT legacy OR pre_entered_on IS NOT NULL) NOT VALID;

-- The identity-card number in clear: hoursd's role and auditors only (the
-- roles' migration grants it); student.id_card_sha256 is its digest.
CREATE TABLE student_identity (
	student_no  text PRIMARY KEY REFERENCES student (student_no),
	id_card     text NOT NULL CHECK (id_card ~ '^[0-9]{17}[0-9X]$'),
	noted_at    timestamptz NOT NULL DEFAULT now(),
	noted_by    text NOT NULL DEFAULT current_user
);
REVOKE ALL ON student_identity FROM PUBLIC;

-- ---- scheduling ----

-- A slot: the student trains with this coach in this vehicle in
-- [starts_at, ends_at).  A student login outside every slot of the
-- student is refused or flagged (rules.schedule).
CREATE TABLE schedule_slot (
	id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	student_no  text NOT NULL REFERENCES student (student_no),
	coach_no    text NOT NULL CHECK (coach_no ~ '^[ -~]{1,32}$'),
	plate       text NOT NULL CHECK (length(plate) BETWEEN 1 AND 16),
	starts_at   timestamptz NOT NULL,
	ends_at     timestamptz NOT NULL,
	created_at  timestamptz NOT NULL DEFAULT now(),
	created_by  text NOT NULL DEFAULT current_user,
	CHECK (ends_at > starts_at AND ends_at - starts_at <= interval '24 hours'),
	UNIQUE (student_no, starts_at, ends_at)
);
CREATE INDEX schedule_slot_time ON schedule_slot (student_no, starts_at);

-- A student login hoursd took although it was outside every slot of the
-- student (rules.schedule: flag); refused ones have the reason
-- outside_schedule.
ALTER TABLE session_event
	ADD COLUMN outside_schedule boolean NOT NULL DEFAULT false;

-- The minutes of lessons whose login was outside the schedule, as
-- auditors read them.
CREATE VIEW outside_schedule_minute AS
SELECT r.terminal_id, r.record_no, r.record_time, r.student_no, r.coach_no, r.part,
       r.verdict, r.reason, r.session_login_at
  FROM record_verdict r
  JOIN session_event e ON e.terminal_id = r.terminal_id AND e.kind = 'student_login'
                      AND e.event_time = r.session_login_at AND e.person_no = r.student_no
 WHERE e.outside_schedule;

-- ---- back-filled hours ----

-- A three-party form (三方确认培训学时补录单) as entered: never updated.
-- scan: the paper form scanned (PDF or image) and its SHA-256; cutoff:
-- the rules.legacy_cutoff it was checked against.
CREATE TABLE backfill_form (
	form_no           text PRIMARY KEY CHECK (form_no ~ '^[!-~]{1,64}$'),
	student_no        text NOT NULL REFERENCES student (student_no),
	school_code       text NOT NULL,
	part              smallint NOT NULL CHECK (part BETWEEN 1 AND 4),
	vehicle_class     text NOT NULL,
	vehicle           integer NOT NULL CHECK (vehicle >= 0),
	classroom         integer NOT NULL CHECK (classroom >= 0),
	simulator         integer NOT NULL CHECK (simulator >= 0),
	remote            integer NOT NULL CHECK (remote >= 0),
	mileage_dkm       bigint NOT NULL CHECK (mileage_dkm >= 0),
	coach_no          text NOT NULL,
	trained_from      date NOT NULL,
	trained_to        date NOT NULL,
	student_signed_by text NOT NULL,
	student_signed_at timestamptz NOT NULL,
	coach_signed_by   text NOT NULL,
	coach_signed_at   timestamptz NOT NULL,
	sealed_by         text NOT NULL,
	sealed_at         timestamptz NOT NULL,
	entered_by        text NOT NULL,
	entered_at        timestamptz NOT NULL DEFAULT now(),
	cutoff            date NOT NULL,
	scan_name         text NOT NULL,
	scan_type         text NOT NULL CHECK (scan_type IN ('pdf', 'png', 'jpeg')),
	scan              bytea NOT NULL,
	scan_sha256       bytea NOT NULL UNIQUE CHECK (length(scan_sha256) = 32),
	CHECK (vehicle + classroom + simulator + remote > 0),
	CHECK (trained_from <= trained_to)
);
CREATE INDEX backfill_form_student ON backfill_form (student_no, part);

-- Every step on a form, with who and when: imported (with the form),
-- then approved or rejected by a supervisor, once.
CREATE TABLE backfill_step (
	form_no  text NOT NULL REFERENCES backfill_form,
	step     text NOT NULL CHECK (step IN ('imported', 'approved', 'rejected')),
	by_name  text NOT NULL CHECK (length(by_name) BETWEEN 1 AND 200),
	note     text,
	at       timestamptz NOT NULL DEFAULT now(),
	db_user  text NOT NULL DEFAULT current_user,
	PRIMARY KEY (form_no, step)
);
-- One decision per form.
CREATE UNIQUE INDEX backfill_step_decided ON backfill_step (form_no)
	WHERE step IN ('approved', 'rejected');

-- Evidence is never changed or removed, whoever asks: an UPDATE, DELETE or
-- TRUNCATE of a form or a step is refused (the roles also grant INSERT
-- and SELECT only).  A correction is a new form and a rejection of the old.
CREATE FUNCTION backfill_append_only() RETURNS trigger
	LANGUAGE plpgsql
	AS $$ BEGIN
		RAISE EXCEPTION '%: % refused: back-fill forms and steps are append-only evidence',
			TG_TABLE_NAME, TG_OP;
	END $$;
CREATE TRIGGER backfill_form_append_only BEFORE UPDATE OR DELETE ON backfill_form
	FOR EACH ROW EXECUTE FUNCTION backfill_append_only();
CREATE TRIGGER backfill_form_no_truncate BEFORE TRUNCATE ON backfill_form
	FOR EACH STATEMENT EXECUTE FUNCTION backfill_append_only();
CREATE TRIGGER backfill_step_append_only BEFORE UPDATE OR DELETE ON backfill_step
	FOR EACH ROW EXECUTE FUNCTION backfill_append_only();
CREATE TRIGGER backfill_step_no_truncate BEFORE TRUNCATE ON backfill_step
	FOR EACH STATEMENT EXECUTE FUNCTION backfill_append_only();

-- A form's state: pending until a supervisor decides.
CREATE VIEW backfill_state AS
SELECT f.form_no, f.student_no, f.part,
       coalesce(d.step, 'pending') AS state, d.by_name AS decided_by, d.at AS decided_at,
       d.note AS decision_note
  FROM backfill_form f
  LEFT JOIN backfill_step d ON d.form_no = f.form_no AND d.step IN ('approved', 'rejected');

-- The approved forms' minutes per student and part, by kind: the second
-- source of a part's minutes beside progress (the terminals').  The judge
-- adds them in part_ready(); the push and explain show them apart.
CREATE VIEW backfill_progress AS
SELECT f.student_no, f.part, min(f.vehicle_class) AS vehicle_class,
       sum(f.vehicle)::integer AS vehicle, sum(f.simulator)::integer AS simulator,
       sum(f.classroom)::integer AS classroom, sum(f.remote)::integer AS remote,
       sum(f.mileage_dkm)::bigint AS mileage_dkm,
       min(f.trained_from) AS trained_from, max(f.trained_to) AS trained_to,
       string_agg(f.form_no, ',' ORDER BY f.form_no) AS forms, count(*) AS nforms
  FROM backfill_form f
  JOIN backfill_step s ON s.form_no = f.form_no AND s.step = 'approved'
 GROUP BY f.student_no, f.part;
