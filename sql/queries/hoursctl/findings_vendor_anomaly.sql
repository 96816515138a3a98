-- hoursctl findings, forged or tampered data per terminal vendor: the
-- anomalies of findings_terminal_anomaly.sql over the vendor's records.
-- Parameters and columns: findings_short_lesson.sql ($4 the clock skew).
-- columns: ?column? (finding), ?column? (school_code), ?column? (subject),
--   local_time_z (at), count (measure), format (detail), jsonb_agg (evidence)
WITH a AS (
	SELECT * FROM finding_record_anomaly x
	 WHERE ($1::text IS NULL OR x.school_code = $1)
	   AND ($2::timestamptz IS NULL OR x.at >= $2)
	   AND ($3::timestamptz IS NULL OR x.at < $3)
	   AND (x.anomaly <> 'gnss_time_skew' OR x.skew_s >= $4::integer)),
rec AS (
	SELECT ts.vendor, count(*) AS records
	  FROM training_record r JOIN terminal_school ts USING (terminal_id)
	 WHERE ($1::text IS NULL OR ts.school_code = $1)
	   AND ($2::timestamptz IS NULL OR r.record_time >= $2)
	   AND ($3::timestamptz IS NULL OR r.record_time < $3)
	 GROUP BY ts.vendor)
SELECT 'tampered_vendor', '', 'vendor ' || a.vendor, local_time_z(max(a.at)), count(*)::text,
       format('%s anomalies on %s terminals, %s records stored from the vendor''s terminals',
              count(*), count(DISTINCT a.terminal_id), coalesce(min(rec.records), 0)),
       (SELECT jsonb_agg(jsonb_build_object('table', 'finding_record_anomaly',
                                            'terminal', k.terminal, 'school', k.school_code,
                                            'anomalies', k.n) ORDER BY k.terminal)
          FROM (SELECT b.terminal, b.school_code, count(*) AS n FROM a b
                 WHERE b.vendor = a.vendor GROUP BY b.terminal, b.school_code) k)::text
  FROM a LEFT JOIN rec ON rec.vendor = a.vendor
 GROUP BY a.vendor
 ORDER BY a.vendor
