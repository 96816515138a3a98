-- hoursctl findings, minutes missing: lessons with findings.missing_minutes
-- ($4) or more minutes between login and logout than records.  Every
-- findings_*.sql takes $1 school code (NULL: all), $2 from and $3 to
-- (timestamptz, NULL: open) and its thresholds from $4, and returns:
-- finding, school, subject, at (UTC+8), measure, detail, evidence (a JSON
-- array of the rows that show it).
-- columns: ?column? (finding), school_code, ?column? (subject),
--   local_time_z (at), missing_minutes, format (detail),
--   jsonb_build_array (evidence)
SELECT 'minutes_missing', f.school_code, 'student ' || f.student_no, local_time_z(f.login_at),
       f.missing_minutes::text,
       format('lesson on terminal %s with coach %s (course %s): %s minutes from login to '
              'logout, %s records; the logout declared %s minutes',
              f.terminal, f.coach_no, f.course_code, f.span_minutes, f.recorded_minutes,
              coalesce(f.declared_minutes::text, '?')),
       jsonb_build_array(
           jsonb_build_object('table', 'session_event', 'terminal', f.terminal,
                              'kind', 'student_login', 'event_time', local_time_z(f.login_at),
                              'person_no', f.student_no),
           jsonb_build_object('table', 'session_event', 'terminal', f.terminal,
                              'kind', 'student_logout', 'event_time', local_time_z(f.logout_at),
                              'person_no', f.student_no, 'minutes', f.declared_minutes),
           jsonb_build_object('table', 'training_record', 'terminal', f.terminal,
                              'session_login_at', local_time_z(f.login_at),
                              'records', f.recorded_minutes,
                              'first_record_no', f.first_record,
                              'last_record_no', f.last_record))::text
  FROM finding_short_lesson f
 WHERE ($1::text IS NULL OR f.school_code = $1)
   AND ($2::timestamptz IS NULL OR f.login_at >= $2)
   AND ($3::timestamptz IS NULL OR f.login_at < $3)
   AND f.missing_minutes >= $4::integer
 ORDER BY f.school_code, f.login_at, f.terminal
