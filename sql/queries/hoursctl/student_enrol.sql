-- student_enrol.sql - enrol a student (hoursctl student add|import): $1
-- student number, $2 school code, $3 vehicle class, $4 enrolment date,
-- $5 identity-card number (NULL: none), $6 legacy, $7 police pre-entry
-- date (NULL: none).  The number goes to student_identity, its SHA-256 to
-- student.  Idempotent: a student already enrolled with the same facts is
-- 'same' and nothing changes; with other facts 'differs' (nothing
-- changes either).  A class the published syllabus (syllabus_part, as
-- hoursd loaded it) does not have is 'no_class', nothing stored; before
-- hoursd first published one, every class passes.  One row: added, same,
-- differs, no_school or no_class.
-- columns: case (outcome)
WITH sc AS (SELECT id FROM school WHERE code = $2),
cls AS (SELECT NOT EXISTS (SELECT 1 FROM syllabus_part)
            OR EXISTS (SELECT 1 FROM syllabus_part WHERE vehicle_class = $3) AS ok),
old AS (
  SELECT s.school_id, s.vehicle_class, s.enrolled_on, s.legacy, s.pre_entered_on,
         s.id_card_sha256
    FROM student s WHERE s.student_no = $1),
ins AS (
  INSERT INTO student (school_id, student_no, id_card_sha256, vehicle_class, enrolled_on,
                       legacy, pre_entered_on)
  SELECT sc.id, $1,
         CASE WHEN $5::text IS NOT NULL THEN sha256(convert_to($5::text, 'UTF8')) END,
         $3, $4::date, $6::boolean, $7::date
    FROM sc WHERE NOT EXISTS (SELECT 1 FROM old) AND (SELECT ok FROM cls)
  ON CONFLICT (student_no) DO NOTHING
  RETURNING student_no),
idn AS (
  INSERT INTO student_identity (student_no, id_card)
  SELECT student_no, $5::text FROM ins WHERE $5::text IS NOT NULL)
SELECT CASE WHEN EXISTS (SELECT 1 FROM ins) THEN 'added'
            WHEN NOT EXISTS (SELECT 1 FROM sc) THEN 'no_school'
            WHEN NOT (SELECT ok FROM cls) THEN 'no_class'
            WHEN EXISTS (SELECT 1 FROM old o
                          WHERE o.school_id = (SELECT id FROM sc) AND o.vehicle_class = $3
                            AND o.enrolled_on IS NOT DISTINCT FROM $4::date
                            AND o.legacy = $6::boolean
                            AND o.pre_entered_on IS NOT DISTINCT FROM $7::date
                            AND o.id_card_sha256 IS NOT DISTINCT FROM
                                CASE WHEN $5::text IS NOT NULL
                                     THEN sha256(convert_to($5::text, 'UTF8')) END)
            THEN 'same'
            ELSE 'differs' END
