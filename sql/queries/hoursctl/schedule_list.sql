-- schedule_list.sql - hoursctl schedule list [--student S] [--day DATE]:
-- $1 student (NULL: all), $2 training day in UTC+8 (NULL: every day).
-- Columns: id, student, coach, plate, start and end (UTC+8).
-- columns: id, student_no, coach_no, plate, to_char (starts_at),
--   to_char (ends_at)
SELECT sl.id, sl.student_no, sl.coach_no, sl.plate,
       to_char(local_clock(sl.starts_at), 'YYYY-MM-DD HH24:MI"+08"'),
       to_char(local_clock(sl.ends_at), 'YYYY-MM-DD HH24:MI"+08"')
  FROM schedule_slot sl
 WHERE ($1::text IS NULL OR sl.student_no = $1)
   AND ($2::date IS NULL OR training_day(sl.starts_at) = $2::date)
 ORDER BY sl.starts_at, sl.student_no
