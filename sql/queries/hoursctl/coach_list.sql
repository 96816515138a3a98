-- coach_list.sql - hoursctl coach list [--school CODE] ($1: NULL, every
-- school): each coach with school, name, classes taught, hire and leave
-- dates, status, and the minutes accepted under them in the last 90 days.
-- columns: coach_no, code, coalesce (name), array_to_string (teach),
--   coalesce (hired_on), coalesce (left_on), status, count (minutes)
SELECT c.coach_no, s.code, coalesce(c.name, ''), array_to_string(c.teach_classes, ' '),
       coalesce(c.hired_on::text, '-'), coalesce(c.left_on::text, '-'), c.status,
       (SELECT count(*) FROM training_record r
         WHERE r.coach_no = c.coach_no AND r.verdict = 'accepted'
           AND r.record_time >= now() - interval '90 days')
  FROM coach c JOIN school s ON s.id = c.school_id
 WHERE $1::text IS NULL OR s.code = $1
 ORDER BY s.code, c.coach_no
