-- student_list.sql - hoursctl student list [--school CODE] ($1: the
-- school's code, NULL: every school).  Columns: student, school, class,
-- enrolled on, legacy ('legacy' or ''), pre-entered on, slots today
-- (UTC+8), forms (imported back-fill forms).
-- columns: student_no, code, vehicle_class, coalesce (enrolled_on),
--   case (legacy), coalesce (pre_entered_on), count (slots_today),
--   count (forms)
SELECT s.student_no, sc.code, s.vehicle_class, coalesce(s.enrolled_on::text, '-'),
       CASE WHEN s.legacy THEN 'legacy' ELSE '' END, coalesce(s.pre_entered_on::text, '-'),
       (SELECT count(*) FROM schedule_slot sl
         WHERE sl.student_no = s.student_no
           AND training_day(sl.starts_at) = training_day(now())),
       (SELECT count(*) FROM backfill_form f WHERE f.student_no = s.student_no)
  FROM student s JOIN school sc ON sc.id = s.school_id
 WHERE $1::text IS NULL OR sc.code = $1
 ORDER BY sc.code, s.student_no
