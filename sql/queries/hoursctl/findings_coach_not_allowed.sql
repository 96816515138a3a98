-- hoursctl findings, coaches teaching without the right: a coach's
-- accepted minutes of a day after their leave date, after they were
-- retired, or of a class they may not teach (the view
-- finding_coach_not_allowed, 016).  Parameters and columns:
-- findings_short_lesson.sql ($4 unused: no threshold).
-- columns: ?column? (finding), school_code, ?column? (subject),
--   local_time (at), minutes (measure), format (detail),
--   jsonb_build_array (evidence)
SELECT 'coach_not_allowed', f.school_code, 'coach ' || f.coach_no, local_time(f.first_minute),
       f.minutes::text,
       format('%s minutes of %s on %s: %s', f.minutes, f.vehicle_class, f.day,
              CASE f.why WHEN 'after_leave_date' THEN 'after the leave date ' || f.left_on
                         WHEN 'retired' THEN 'after the coach was retired'
                         ELSE 'may teach ' || coalesce(nullif(array_to_string(f.teach_classes, ' '), ''), 'nothing') END),
       jsonb_build_array(jsonb_build_object('table', 'coach', 'coach_no', f.coach_no,
                                            'left_on', f.left_on,
                                            'teach_classes', to_jsonb(f.teach_classes)),
                         jsonb_build_object('table', 'training_record', 'day', f.day,
                                            'vehicle_class', f.vehicle_class,
                                            'minutes', f.minutes,
                                            'first', local_time(f.first_minute),
                                            'last', local_time(f.last_minute)))::text
  FROM finding_coach_not_allowed f
 WHERE ($1::text IS NULL OR f.school_code = $1)
   AND ($2::timestamptz IS NULL OR f.last_minute >= $2)
   AND ($3::timestamptz IS NULL OR f.first_minute < $3)
   AND $4::integer IS NOT NULL
 ORDER BY f.school_code, f.coach_no, f.day
