-- 007_pipeline.sql - ingest, judge, push: three stages.
--
-- Ingest stores a record as received with the verdict only that message
-- can earn (signature, terminal, lesson, site, plausibility), and queues
-- the accepted ones for the judge in the same transaction.  The judge
-- (sql/queries/judge.sql) takes queued records in large batches and
-- decides what needs the whole database: one vehicle per student and per
-- coach and minute, the daily caps, progress, the one packet of a met
-- part.  It writes its decision to record_judgement and removes the queue
-- rows in one transaction: a record is judged exactly once, whichever
-- instance takes it and whatever dies meanwhile.  The push reads the
-- packets.  docs/architecture.md has the whole picture.

-- ---- the rules' shared facts, written once ----
-- Used by the judge, the push and the audit alike.  Plain SQL functions,
-- IMMUTABLE: the planner inlines them into the statement that calls them.

-- The training day of a moment: the date in UTC+8, the terminals' time.
CREATE FUNCTION training_day(t timestamptz) RETURNS date
	LANGUAGE sql IMMUTABLE PARALLEL SAFE
	AS $$ SELECT ((t AT TIME ZONE 'UTC') + interval '8 hours')::date $$;

-- The daily cap group of a part: practice (parts 2 and 3) or theory (1 and 4).
CREATE FUNCTION cap_group(part smallint) RETURNS text
	LANGUAGE sql IMMUTABLE PARALLEL SAFE
	AS $$ SELECT CASE WHEN part IN (2, 3) THEN 'practice' ELSE 'theory' END $$;

-- Minutes of one kind as they count: at most what the syllabus lets the
-- kind contribute (NULL: no limit).
CREATE FUNCTION capped(minutes integer, most integer) RETURNS integer
	LANGUAGE sql IMMUTABLE PARALLEL SAFE
	AS $$ SELECT least(minutes, coalesce(most, minutes)) $$;

-- The counted minutes of a student's part: each kind capped, summed.
CREATE FUNCTION counted_minutes(p progress, sp syllabus_part) RETURNS integer
	LANGUAGE sql IMMUTABLE PARALLEL SAFE
	AS $$ SELECT capped(p.vehicle, sp.max_vehicle) + capped(p.simulator, sp.max_simulator)
	           + capped(p.classroom, sp.max_classroom) + capped(p.remote, sp.max_remote) $$;

-- A part is met when its counted minutes reach the syllabus's requirement.
CREATE FUNCTION part_met(p progress, sp syllabus_part) RETURNS boolean
	LANGUAGE sql IMMUTABLE PARALLEL SAFE
	AS $$ SELECT counted_minutes(p, sp) >= sp.required_minutes $$;

-- ---- the judge's queue and its decisions ----

-- Every record ingest accepted, until the judge has decided it.  Written
-- in the ingest transaction, deleted in the judge's.
CREATE TABLE judge_queue (
	seq          bigserial PRIMARY KEY,       -- the order records are judged in
	terminal_id  bigint NOT NULL,
	record_no    text NOT NULL,
	queued_at    timestamptz NOT NULL DEFAULT now()
);

-- The judge's decision on each record ingest accepted: exactly one row
-- (the primary key refuses a second), written with the claims, caps and
-- progress it implies.  reason NULL: the minute counts.
CREATE TABLE record_judgement (
	terminal_id  bigint NOT NULL,
	record_no    text NOT NULL,
	reason       text CHECK (reason IN ('daily_cap', 'student_overlap', 'coach_overlap')),
	queued_at    timestamptz NOT NULL,
	judged_at    timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (terminal_id, record_no)
);

-- Records stored before this migration were judged in the ingest
-- statement: their decisions move here.
INSERT INTO record_judgement (terminal_id, record_no, reason, queued_at, judged_at)
SELECT terminal_id, record_no,
       CASE WHEN verdict = 'rejected' THEN reason END, received_at, received_at
  FROM training_record
 WHERE verdict = 'accepted' OR reason IN ('daily_cap', 'student_overlap', 'coach_overlap');
UPDATE training_record SET verdict = 'accepted', reason = NULL
 WHERE reason IN ('daily_cap', 'student_overlap', 'coach_overlap');

-- Every record with its final verdict, as auditors, `hoursctl explain`
-- and the push read it: rejected by ingest (training_record.reason),
-- pending (accepted by ingest, not judged yet), or the judge's decision.
CREATE VIEW record_verdict AS
SELECT r.terminal_id, r.record_no, r.record_time, r.student_no, r.coach_no, r.class_id,
       r.course_code, r.part, r.mode, r.vehicle_class, r.upload_type, r.record_status,
       r.max_speed_dkmh, r.mileage_dkm, r.lat_e6, r.lon_e6, r.fix_valid, r.session_login_at,
       r.signed, r.received_at, j.judged_at,
       CASE WHEN r.verdict = 'rejected' THEN 'rejected'
            WHEN j.record_no IS NULL THEN 'pending'
            WHEN j.reason IS NULL THEN 'accepted'
            ELSE 'rejected' END AS verdict,
       coalesce(r.reason, j.reason) AS reason,
       r.verdict AS ingest_verdict
  FROM training_record r LEFT JOIN record_judgement j USING (terminal_id, record_no);

-- A lesson's minutes are those ingest accepted (the lesson's own facts);
-- whether each counted is record_verdict's.
COMMENT ON VIEW lesson IS 'accepted_minutes: minutes ingest accepted; record_verdict says which counted';
