-- hoursctl findings, off-site: minutes refused as outside every approved
-- site of the school (or for a school without one), per school and coach,
-- findings.off_site_minutes = $4 or more in the period.  Parameters
-- and columns: findings_short_lesson.sql; the evidence is the first 20 records.
-- columns: ?column? (finding), school_code, ?column? (subject),
--   local_time_z (at), count (measure), format (detail), jsonb_agg (evidence)
WITH r AS (
	SELECT ts.school_code, r.*
	  FROM training_record r JOIN terminal_school ts USING (terminal_id)
	 WHERE r.reason IN ('outside_training_site', 'no_training_site')
	   AND ($1::text IS NULL OR ts.school_code = $1)
	   AND ($2::timestamptz IS NULL OR r.record_time >= $2)
	   AND ($3::timestamptz IS NULL OR r.record_time < $3))
SELECT 'off_site', r.school_code, 'coach ' || r.coach_no, local_time_z(min(r.record_time)),
       count(*)::text,
       format('%s minutes outside the approved site on %s days, %s students (%s)',
              count(*), count(DISTINCT training_day(r.record_time)),
              count(DISTINCT r.student_no), string_agg(DISTINCT r.reason, ', ')),
       (SELECT jsonb_agg(jsonb_build_object('table', 'training_record',
                                            'terminal', e.phone, 'record_no', e.record_no,
                                            'record_time', local_time_z(e.record_time),
                                            'student_no', e.student_no,
                                            'lat', e.lat_e6 / 1e6, 'lon', e.lon_e6 / 1e6,
                                            'reason', e.reason)
                         ORDER BY e.record_time, e.record_no)
          FROM (SELECT x.*, t.phone FROM r x JOIN terminal t ON t.id = x.terminal_id
                 WHERE x.school_code = r.school_code AND x.coach_no = r.coach_no
                 ORDER BY x.record_time, x.record_no LIMIT 20) e)::text
  FROM r
 GROUP BY r.school_code, r.coach_no
HAVING count(*) >= $4::integer
 ORDER BY r.school_code, r.coach_no
