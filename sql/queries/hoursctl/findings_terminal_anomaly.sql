-- hoursctl findings, forged or tampered data per terminal: signature
-- failures, unsigned records, reused record numbers, the judge's
-- student and coach overlaps, and time anomalies
-- (a GNSS time findings.clock_skew_s = $4 or more from the record's
-- time).  Parameters and columns: findings_short_lesson.sql; the evidence
-- is the first 20 records.
-- columns: ?column? (finding), school_code, format (subject),
--   local_time_z (at), count (measure), string_agg (detail),
--   jsonb_agg (evidence)
WITH a AS (
	SELECT * FROM finding_record_anomaly x
	 WHERE ($1::text IS NULL OR x.school_code = $1)
	   AND ($2::timestamptz IS NULL OR x.at >= $2)
	   AND ($3::timestamptz IS NULL OR x.at < $3)
	   AND (x.anomaly <> 'gnss_time_skew' OR x.skew_s >= $4::integer))
SELECT 'tampered_terminal', a.school_code, format('terminal %s (vendor %s)', a.terminal, a.vendor),
       local_time_z(max(a.at)), count(*)::text,
       (SELECT string_agg(k.anomaly || ' ' || k.n, ', ' ORDER BY k.anomaly)
          FROM (SELECT b.anomaly, count(*) AS n FROM a b
                 WHERE b.terminal_id = a.terminal_id GROUP BY b.anomaly) k),
       (SELECT jsonb_agg(jsonb_build_object('table', CASE e.anomaly
                                                          WHEN 'number_reused'
                                                          THEN 'training_record_conflict'
                                                          WHEN 'student_overlap'
                                                          THEN 'record_judgement'
                                                          WHEN 'coach_overlap'
                                                          THEN 'record_judgement'
                                                          ELSE 'training_record' END,
                                            'record_no', e.record_no, 'anomaly', e.anomaly,
                                            'at', local_time_z(e.at), 'skew_s', e.skew_s)
                         ORDER BY e.at, e.record_no)
          FROM (SELECT * FROM a c WHERE c.terminal_id = a.terminal_id
                 ORDER BY c.at, c.record_no LIMIT 20) e)::text
  FROM a
 GROUP BY a.school_code, a.terminal, a.vendor, a.terminal_id
 ORDER BY a.school_code, a.terminal
