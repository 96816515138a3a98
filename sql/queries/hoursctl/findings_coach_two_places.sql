-- hoursctl findings, a coach in two places: a minute with records of one
-- coach on two or more terminals.  Parameters and columns:
-- findings_short_lesson.sql ($4 unused: no threshold).
-- columns: ?column? (finding), school_code, ?column? (subject),
--   local_time_z (at), cardinality (measure), format (detail),
--   jsonb_agg (evidence)
SELECT 'coach_two_places', f.school_code, 'coach ' || f.coach_no, local_time_z(f.minute),
       cardinality(f.terminals)::text,
       format('records on terminals %s in the same minute', array_to_string(f.terminals, ', ')),
       (SELECT jsonb_agg(jsonb_build_object('table', 'record_verdict', 'terminal', t.phone,
                                            'record_no', v.record_no,
                                            'record_time', local_time_z(v.record_time),
                                            'student_no', v.student_no,
                                            'verdict', v.verdict, 'reason', v.reason)
                         ORDER BY v.record_time, v.record_no)
          FROM record_verdict v JOIN terminal t ON t.id = v.terminal_id
         WHERE v.coach_no = f.coach_no AND v.record_no = ANY (f.record_nos)
           AND date_trunc('minute', v.record_time) = f.minute)::text
  FROM finding_coach_two_places f
 WHERE ($1::text IS NULL OR f.school_code = $1)
   AND ($2::timestamptz IS NULL OR f.minute >= $2)
   AND ($3::timestamptz IS NULL OR f.minute < $3)
   AND $4::integer IS NOT NULL
 ORDER BY f.school_code, f.coach_no, f.minute
