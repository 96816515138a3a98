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
-- No auditor reads the number in clear (009's audit_secret): they read it
-- masked, the first 6 digits (the region) and the last 4, in the view
-- below, or student.id_card_sha256.  The view runs with its owner's rights.
INSERT INTO audit_secret (tbl, col, why) VALUES
	('student_identity', 'id_card', 'the identity-card number in clear');
CREATE VIEW student_identity_masked AS
SELECT student_no, left(id_card, 6) || '********' || right(id_card, 4) AS id_card_masked,
       noted_at, noted_by
  FROM student_identity;

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
CREATE VIEW outside_schedule_minute WITH (security_invoker = true) AS
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

-- Evidence is never changed or removed, whoever asks: a form and each
-- step join the audit's hash chain (009, docs/audit.md), which makes them
-- append-only too (an UPDATE, DELETE or TRUNCATE is refused, the roles
-- grant INSERT and SELECT only).  A correction is a new form and a
-- rejection of the old.
SELECT audit_join('backfill_form', '{form_no}', 'entered_at',
                  '(SELECT s.id FROM school s WHERE s.code = t.school_code)');
SELECT audit_join('backfill_step', '{form_no,step}', 'at',
                  '(SELECT s.id FROM backfill_form f JOIN school s ON s.code = f.school_code'
                  ' WHERE f.form_no = t.form_no)');

-- A form's state: pending until a supervisor decides.
CREATE VIEW backfill_state WITH (security_invoker = true) AS
SELECT f.form_no, f.student_no, f.part,
       coalesce(d.step, 'pending') AS state, d.by_name AS decided_by, d.at AS decided_at,
       d.note AS decision_note
  FROM backfill_form f
  LEFT JOIN backfill_step d ON d.form_no = f.form_no AND d.step IN ('approved', 'rejected');

-- The approved forms' minutes per student and part, by kind: the second
-- source of a part's minutes beside progress (the terminals').  The judge
-- adds them kind by kind to the terminals' before part_ready() (judge.sql);
-- the push and explain show them apart.
CREATE VIEW backfill_progress WITH (security_invoker = true) AS
SELECT f.student_no, f.part, min(f.vehicle_class) AS vehicle_class,
       sum(f.vehicle)::integer AS vehicle, sum(f.simulator)::integer AS simulator,
       sum(f.classroom)::integer AS classroom, sum(f.remote)::integer AS remote,
       sum(f.mileage_dkm)::bigint AS mileage_dkm,
       min(f.trained_from) AS trained_from, max(f.trained_to) AS trained_to,
       string_agg(f.form_no, ',' ORDER BY f.form_no) AS forms, count(*) AS nforms
  FROM backfill_form f
  JOIN backfill_step s ON s.form_no = f.form_no AND s.step = 'approved'
 GROUP BY f.student_no, f.part;

-- ---- the audit's roles (009, docs/audit.md) ----
-- A district auditor sees the students, slots and forms of its district's
-- schools; the views above read with the reader's rights.
SELECT audit_scope(x, 'student_no IN (SELECT audit_students_of(current_user))')
  FROM unnest(ARRAY['student_identity', 'schedule_slot', 'backfill_form']) x;
SELECT audit_scope('backfill_step', 'form_no IN (SELECT form_no FROM backfill_form)');
