-- 013_shared_facts.sql - facts the statements wrote by hand, each given
-- one home beside those of 007 and 008: the terminals' clock (UTC+8) both
-- ways, the counted minutes of any part's kinds, and a part's minutes
-- from both of its sources, the terminals' (progress) and the approved
-- back-fill forms' (backfill_progress, 011).  tests/check_sqlfacts.c keeps
-- hand copies of them out of sql/queries/.

-- ---- the terminals' clock: UTC+8 ----

-- A moment on the terminals' clock: UTC+8, without a zone.  Format it
-- with to_char() where a statement needs another text than these below.
CREATE FUNCTION local_clock(t timestamptz) RETURNS timestamp
	LANGUAGE sql IMMUTABLE PARALLEL SAFE
	AS $$ SELECT (t AT TIME ZONE 'UTC') + interval '8 hours' $$;

-- The moment a training day (a date in UTC+8) begins: its 00:00.
CREATE FUNCTION local_midnight(d date) RETURNS timestamptz
	LANGUAGE sql IMMUTABLE PARALLEL SAFE
	AS $$ SELECT (d::timestamp - interval '8 hours') AT TIME ZONE 'UTC' $$;

-- A moment as the schools read it, to the minute (local_time(), 010, to
-- the second).
CREATE FUNCTION local_minute(t timestamptz) RETURNS text
	LANGUAGE sql STABLE PARALLEL SAFE
	AS $$ SELECT to_char(local_clock(t), 'YYYY-MM-DD HH24:MI') $$;

-- The training day (007) and local_time() (010), the same values, from
-- the one conversion.
CREATE OR REPLACE FUNCTION training_day(t timestamptz) RETURNS date
	LANGUAGE sql IMMUTABLE PARALLEL SAFE
	AS $$ SELECT local_clock(t)::date $$;
CREATE OR REPLACE FUNCTION local_time(t timestamptz) RETURNS text
	LANGUAGE sql STABLE PARALLEL SAFE
	AS $$ SELECT to_char(local_clock(t), 'YYYY-MM-DD HH24:MI:SS') $$;

-- ---- counted minutes ----

-- The counted minutes of a part's kinds: each at most what the syllabus
-- lets it contribute (capped(), 007), summed.  counted_minutes() of a
-- progress row (007, and so part_met() and part_ready()) is this one.
CREATE FUNCTION counted_minutes(vehicle integer, simulator integer, classroom integer,
                                remote integer, sp syllabus_part) RETURNS integer
	LANGUAGE sql IMMUTABLE PARALLEL SAFE
	AS $$ SELECT capped(vehicle, sp.max_vehicle) + capped(simulator, sp.max_simulator)
	           + capped(classroom, sp.max_classroom) + capped(remote, sp.max_remote) $$;
CREATE OR REPLACE FUNCTION counted_minutes(p progress, sp syllabus_part) RETURNS integer
	LANGUAGE sql IMMUTABLE PARALLEL SAFE
	AS $$ SELECT counted_minutes(p.vehicle, p.simulator, p.classroom, p.remote, sp) $$;

-- ---- a part's minutes from both sources ----

-- A part's minutes as one progress row: the terminals' (p) and the
-- approved forms' (f) added kind by kind, with the mileage; either may be
-- missing (NULL).  The forms' days run from the 00:00 (UTC+8) of their
-- first to that of their last; records and updated_at are the terminals'.
-- The judge calls it on the rows it has just written (judge.sql), the
-- push and the teaching log on a packet's part, part_total on every part.
CREATE FUNCTION progress_with_forms(p progress, f backfill_progress) RETURNS progress
	LANGUAGE sql IMMUTABLE PARALLEL SAFE
	AS $$ SELECT ROW(coalesce(p.student_no, f.student_no), coalesce(p.part, f.part),
	                 coalesce(p.vehicle_class, f.vehicle_class),
	                 coalesce(p.vehicle, 0) + coalesce(f.vehicle, 0),
	                 coalesce(p.simulator, 0) + coalesce(f.simulator, 0),
	                 coalesce(p.classroom, 0) + coalesce(f.classroom, 0),
	                 coalesce(p.remote, 0) + coalesce(f.remote, 0),
	                 coalesce(p.mileage_dkm, 0) + coalesce(f.mileage_dkm, 0),
	                 least(p.first_minute, local_midnight(f.trained_from)),
	                 greatest(p.last_minute, local_midnight(f.trained_to)),
	                 coalesce(p.records, 0), p.updated_at)::progress $$;

-- Every student's part with minutes from either source, shaped like
-- progress (progress_with_forms()), with whether approved forms are among
-- them (backfilled) and their numbers (forms, comma-separated; NULL:
-- none).  What the judge decides a part by; count it with
-- counted_minutes(vehicle, simulator, classroom, remote, sp).  Keyed by
-- the parts of either source, so that a condition on student_no and part
-- reaches both tables' keys.  Read with the reader's rights: a district
-- auditor sees its own students' (009).
CREATE VIEW part_total WITH (security_invoker = true) AS
SELECT k.student_no, k.part, (x.t).vehicle_class, (x.t).vehicle, (x.t).simulator,
       (x.t).classroom, (x.t).remote, (x.t).mileage_dkm, (x.t).first_minute,
       (x.t).last_minute, (x.t).records, (x.t).updated_at,
       f.student_no IS NOT NULL AS backfilled, f.forms
  FROM (SELECT student_no, part FROM progress
        UNION SELECT student_no, part FROM backfill_progress) k
  LEFT JOIN progress p ON p.student_no = k.student_no AND p.part = k.part
  LEFT JOIN backfill_progress f ON f.student_no = k.student_no AND f.part = k.part
  CROSS JOIN LATERAL (SELECT progress_with_forms(p, f) AS t) x;
