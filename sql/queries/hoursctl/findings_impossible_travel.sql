-- hoursctl findings, impossible travel: consecutive accepted minutes of a
-- coach (on any terminal) or of a vehicle (any terminal bound to it)
-- farther apart than findings.max_travel_kmh ($4) allows for the time
-- between them (the view finding_impossible_travel, 016).  Parameters
-- and columns as findings_short_lesson.sql's.
-- columns: ?column? (finding), school_code, ?column? (subject),
--   local_time (at), km_h (measure), format (detail),
--   jsonb_build_array (evidence)
SELECT 'impossible_travel', f.school_code, f.who_kind || ' ' || f.who, local_time(f.at),
       f.km_h::text,
       format('%s km in %s s since %s (%s km/h)', f.km,
              extract(epoch FROM f.at - f.prev_at)::bigint, local_time(f.prev_at), f.km_h),
       jsonb_build_array(
         jsonb_build_object('table', 'training_record', 'terminal',
                            (SELECT phone FROM terminal WHERE id = f.prev_terminal),
                            'record_no', f.prev_record, 'record_time', local_time(f.prev_at)),
         jsonb_build_object('table', 'training_record', 'terminal',
                            (SELECT phone FROM terminal WHERE id = f.terminal_id),
                            'record_no', f.record_no, 'record_time', local_time(f.at)))::text
  FROM finding_impossible_travel f
 WHERE ($1::text IS NULL OR f.school_code = $1)
   AND ($2::timestamptz IS NULL OR f.at >= $2)
   AND ($3::timestamptz IS NULL OR f.at < $3)
   AND f.km_h > $4::integer AND f.km > 0.05
 ORDER BY f.school_code, f.who_kind, f.who, f.at
