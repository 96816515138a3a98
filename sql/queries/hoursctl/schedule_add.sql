-- schedule_add.sql - one schedule slot (hoursctl schedule add|import): $1
-- student, $2 coach number, $3 vehicle plate, $4 start and $5 end (with
-- their zone).  Idempotent: the same student and window again is
-- 'exists'.  One row: added, exists or no_student; and the slot's id.
-- columns: case (outcome), id
WITH st AS (SELECT student_no FROM student WHERE student_no = $1),
ins AS (
  INSERT INTO schedule_slot (student_no, coach_no, plate, starts_at, ends_at)
  SELECT student_no, $2, $3, $4::timestamptz, $5::timestamptz FROM st
  ON CONFLICT (student_no, starts_at, ends_at) DO NOTHING
  RETURNING id)
SELECT CASE WHEN EXISTS (SELECT 1 FROM ins) THEN 'added'
            WHEN NOT EXISTS (SELECT 1 FROM st) THEN 'no_student'
            ELSE 'exists' END,
       (SELECT id FROM ins)
