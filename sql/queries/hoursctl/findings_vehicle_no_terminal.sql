-- hoursctl findings, 应装尽装: a school's vehicles without an active
-- terminal (now: $2 and $3 play no part).  Parameters and columns:
-- findings_short_lesson.sql ($4 unused).
-- columns: ?column? (finding), school_code, ?column? (subject),
--   local_time_z (at), ?column? (measure), format (detail),
--   jsonb_build_array (evidence)
SELECT 'vehicle_without_terminal', f.school_code, 'vehicle ' || f.plate,
       local_time_z(f.created_at), '1', format('%s vehicle with no active terminal', f.vehicle_class),
       jsonb_build_array(jsonb_build_object('table', 'vehicle', 'plate', f.plate,
                                            'vehicle_class', f.vehicle_class,
                                            'created_at', local_time_z(f.created_at)))::text
  FROM finding_vehicle_without_terminal f
 WHERE ($1::text IS NULL OR f.school_code = $1)
   AND ($2::timestamptz IS NULL OR $2 IS NOT NULL) AND ($3::timestamptz IS NULL OR $3 IS NOT NULL)
   AND $4::integer IS NOT NULL
 ORDER BY f.school_code, f.plate
