-- hoursctl report quarterly: each school with its quarter ($1 from, $2 to,
-- timestamptz; $3 the quarter, 2026Q3).  Columns: code, name, students
-- with a counted minute, counted minutes, records stored, records
-- uploaded in real time, and the police's pass rate, violation rate and
-- accident rate ('' when not imported).
-- columns: code, name, students, minutes, records, realtime,
--   coalesce (pass_rate), coalesce (violation_rate),
--   coalesce (accident_rate)
SELECT s.code, s.name, q.students, q.minutes, q.records, q.realtime,
       coalesce(pf.pass_rate::text, ''), coalesce(pf.violation_rate::text, ''),
       coalesce(pf.accident_rate::text, '')
  FROM school s
 CROSS JOIN LATERAL (
	SELECT count(DISTINCT v.student_no) FILTER (WHERE v.verdict = 'accepted') AS students,
	       count(*) FILTER (WHERE v.verdict = 'accepted') AS minutes, count(*) AS records,
	       count(*) FILTER (WHERE NOT reuploaded(r.raw, r.upload_type)) AS realtime
	  FROM training_record r
	  JOIN record_verdict v USING (terminal_id, record_no)
	  JOIN terminal t ON t.id = r.terminal_id
	 WHERE t.school_id = s.id AND r.record_time >= $1::timestamptz
	   AND r.record_time < $2::timestamptz) q
  LEFT JOIN police_figures pf ON pf.school_id = s.id AND pf.quarter = $3
 ORDER BY s.code
