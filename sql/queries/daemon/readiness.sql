-- readiness.sql - the pre-entry question (docs/push-contract.md, section
-- 10): is student $1 enrolled, and scheduled on day $2 (YYYY-MM-DD in
-- UTC+8; NULL: today)?  One row: the day, enrolled, the school's code
-- and the class (NULL when not enrolled), the slots that day (those that
-- overlap it).
-- columns: day, ?column? (enrolled), code, vehicle_class, count (slots)
WITH d AS (SELECT coalesce($2::date, training_day(now())) AS day)
SELECT d.day::text, s.student_no IS NOT NULL, sc.code, s.vehicle_class,
       (SELECT count(*) FROM schedule_slot sl
         WHERE sl.student_no = $1
           AND sl.starts_at < local_midnight(d.day + 1)
           AND sl.ends_at > local_midnight(d.day))
  FROM d
  LEFT JOIN student s ON s.student_no = $1
  LEFT JOIN school sc ON sc.id = s.school_id
