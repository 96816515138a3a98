-- hoursctl findings, real-time uploads: a school whose records were sent
-- in real time less than findings.min_realtime_percent ($4) of the time,
-- the rest re-uploaded (补传).  Parameters and columns:
-- findings_short_lesson.sql; the evidence is the count per terminal.
-- columns: ?column? (finding), school_code, ?column? (subject), max (at),
--   round (measure), format (detail), jsonb_agg (evidence)
WITH u AS (
	SELECT f.school_code, f.terminal, sum(f.records) AS records, sum(f.realtime) AS realtime,
	       sum(f.reuploaded) AS reuploaded, max(f.day) AS last_day
	  FROM finding_upload_timeliness f
	 WHERE ($1::text IS NULL OR f.school_code = $1)
	   AND ($2::timestamptz IS NULL OR f.day >= training_day($2))
	   AND ($3::timestamptz IS NULL OR f.day < training_day($3))
	 GROUP BY f.school_code, f.terminal)
SELECT 'realtime_share', u.school_code, 'school ' || u.school_code, max(u.last_day)::text,
       round(100.0 * sum(u.realtime) / sum(u.records), 1)::text,
       format('%s of %s records uploaded in real time, %s re-uploaded', sum(u.realtime),
              sum(u.records), sum(u.reuploaded)),
       jsonb_agg(jsonb_build_object('table', 'training_record', 'terminal', u.terminal,
                                    'records', u.records, 'realtime', u.realtime,
                                    'reuploaded', u.reuploaded) ORDER BY u.terminal)::text
  FROM u
 GROUP BY u.school_code
HAVING 100 * sum(u.realtime) < $4::integer * sum(u.records)
 ORDER BY u.school_code
