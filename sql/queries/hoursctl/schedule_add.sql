-- schedule_add.sql - one schedule slot (hoursctl schedule add|import): $1
-- student, $2 coach number, $3 vehicle plate, $4 start and $5 end (with
-- their zone).  Idempotent: the same student and window again is
-- 'exists'.  The coach and the vehicle, when the registry has them
-- (docs/registry.md), must be the student's school's and not retired; one
-- the registry lacks is taken (the login is checked against the registry
-- again).  One row: added, exists, no_student, coach_retired,
-- coach_other_school, vehicle_retired or vehicle_other_school; and the
-- slot's id.
-- columns: case (outcome), id
WITH st AS (SELECT student_no, school_id FROM student WHERE student_no = $1),
c AS (SELECT status, school_id FROM coach WHERE coach_no = $2),
v AS (SELECT status, school_id FROM vehicle WHERE plate = $3),
bad AS (
  SELECT CASE WHEN EXISTS (SELECT 1 FROM c WHERE c.status = 'retired') THEN 'coach_retired'
              WHEN EXISTS (SELECT 1 FROM c, st WHERE c.school_id <> st.school_id)
              THEN 'coach_other_school'
              WHEN EXISTS (SELECT 1 FROM v WHERE v.status = 'retired') THEN 'vehicle_retired'
              WHEN EXISTS (SELECT 1 FROM v, st WHERE v.school_id <> st.school_id)
              THEN 'vehicle_other_school' END AS why),
ins AS (
  INSERT INTO schedule_slot (student_no, coach_no, plate, starts_at, ends_at)
  SELECT student_no, $2, $3, $4::timestamptz, $5::timestamptz FROM st, bad
   WHERE bad.why IS NULL
  ON CONFLICT (student_no, starts_at, ends_at) DO NOTHING
  RETURNING id)
SELECT CASE WHEN EXISTS (SELECT 1 FROM ins) THEN 'added'
            WHEN NOT EXISTS (SELECT 1 FROM st) THEN 'no_student'
            WHEN (SELECT why FROM bad) IS NOT NULL THEN (SELECT why FROM bad)
            ELSE 'exists' END,
       (SELECT id FROM ins)
