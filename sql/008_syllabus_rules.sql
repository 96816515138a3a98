-- 008_syllabus_rules.sql - the syllabus rules that need more than a part's
-- minutes: the mileage gate of part 3 and the reduced figures of a student
-- adding a class to a licence already held (docs/syllabus.md).

-- Per part, as conf/syllabus.yaml gives them (rules.c writes them):
--   adding_required_minutes: required of a student who already holds a
--     licence (adding a class, 增驾); NULL: the full figure for everyone
--   gate_mileage_dkm: the student's mileage over the practice parts (2 and
--     3, counted minutes) the part waits for, 0.1 km; NULL: none
ALTER TABLE syllabus_part
	ADD COLUMN adding_required_minutes integer CHECK (adding_required_minutes > 0),
	ADD COLUMN gate_mileage_dkm bigint CHECK (gate_mileage_dkm >= 0);

-- The licence a student already holds, recorded by an operator
-- (hoursctl student held STUDENT CLASS) until enrolment records it.
CREATE TABLE licence_held (
	student_no  text PRIMARY KEY,
	held_class  text NOT NULL CHECK (held_class ~ '^[A-Z][0-9]?$'),
	noted_at    timestamptz NOT NULL DEFAULT now(),
	noted_by    text NOT NULL DEFAULT current_user
);

-- Students whose parts the judge looks at again without new minutes (a
-- held licence recorded, say): taken and removed by the judge's next batch.
CREATE TABLE judge_recheck (
	student_no  text PRIMARY KEY,
	queued_at   timestamptz NOT NULL DEFAULT now()
);

-- The minutes a part requires of a student: the adding-class figure when
-- the student holds a licence and the part has one.
CREATE FUNCTION required_minutes(sp syllabus_part, adding boolean) RETURNS integer
	LANGUAGE sql IMMUTABLE PARALLEL SAFE
	AS $$ SELECT CASE WHEN adding AND sp.adding_required_minutes IS NOT NULL
	                  THEN sp.adding_required_minutes ELSE sp.required_minutes END $$;

-- A part is ready to push when its counted minutes reach what it requires
-- of this student and the student's practice mileage reaches its gate.
-- part_met() (007) is the minutes alone, the same as syllabus_met() in C.
CREATE FUNCTION part_ready(p progress, sp syllabus_part, adding boolean,
                           practice_mileage_dkm bigint) RETURNS boolean
	LANGUAGE sql IMMUTABLE PARALLEL SAFE
	AS $$ SELECT counted_minutes(p, sp) >= required_minutes(sp, adding)
	         AND coalesce(practice_mileage_dkm, 0) >= coalesce(sp.gate_mileage_dkm, 0) $$;
