-- hoursctl recompute: minutes offered per day and cap group (counted, or
-- refused over the daily cap) against progress_day, and days whose
-- counted minutes exceed the cap ($1 = student number, NULL: every
-- student).  Columns: student, cap group, day (UTC+8), offered, stored,
-- counted, cap.
-- columns: coalesce (student_no), coalesce (cap_group), coalesce (day),
--   offered, minutes, counted, cap
WITH r AS (
  SELECT *, cap_group(part) AS grp
    FROM record_verdict
   WHERE (verdict = 'accepted' OR reason = 'daily_cap')
     AND ($1::text IS NULL OR student_no = $1)),
d AS (
  SELECT student_no, grp,
         training_day(record_time) AS day,
         count(*) AS offered,
         count(*) FILTER (WHERE verdict = 'accepted') AS counted,
         (SELECT max(sp.daily_cap_minutes) FROM syllabus_part sp
           WHERE sp.vehicle_class = min(r.vehicle_class) AND sp.part = ANY (array_agg(r.part)))
         AS cap
    FROM r
   GROUP BY 1, 2, 3),
p AS (SELECT * FROM progress_day WHERE $1::text IS NULL OR student_no = $1)
SELECT coalesce(d.student_no, p.student_no), coalesce(d.grp, p.cap_group),
       coalesce(d.day, p.day), d.offered, p.minutes, d.counted, d.cap
  FROM d FULL JOIN p ON p.student_no = d.student_no AND p.cap_group = d.grp
   AND p.day = d.day
 WHERE d.offered IS DISTINCT FROM p.minutes OR d.counted > d.cap
 ORDER BY 1, 2, 3
