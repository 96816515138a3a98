-- hoursctl findings, more than a coach can teach in a day: more students
-- than findings.max_students_per_coach_day ($4) or more minutes than
-- findings.max_coach_minutes_per_day ($5).  Parameters and columns:
-- findings_short_lesson.sql; the evidence is the day per student.
-- columns: ?column? (finding), school_code, ?column? (subject), day,
--   students, format (detail), jsonb_agg (evidence)
SELECT 'coach_overloaded', f.school_code, 'coach ' || f.coach_no, f.day::text,
       f.students::text,
       format('%s students, %s minutes on %s terminals between %s and %s', f.students,
              f.minutes, f.terminals, local_time_z(f.first_minute), local_time_z(f.last_minute)),
       (SELECT jsonb_agg(jsonb_build_object('table', 'training_record',
                                            'student_no', s.student_no, 'terminal', s.phone,
                                            'minutes', s.n, 'first', local_time_z(s.first),
                                            'last', local_time_z(s.last))
                         ORDER BY s.first)
          FROM (SELECT r.student_no, t.phone, count(*) AS n, min(r.record_time) AS first,
                       max(r.record_time) AS last
                  FROM training_record r JOIN terminal t ON t.id = r.terminal_id
                 WHERE r.coach_no = f.coach_no AND r.verdict = 'accepted'
                   AND training_day(r.record_time) = f.day
                 GROUP BY r.student_no, t.phone) s)::text
  FROM finding_coach_day f
 WHERE ($1::text IS NULL OR f.school_code = $1)
   AND ($2::timestamptz IS NULL OR f.last_minute >= $2)
   AND ($3::timestamptz IS NULL OR f.first_minute < $3)
   AND (f.students > $4::integer OR f.minutes > $5::integer)
 ORDER BY f.school_code, f.coach_no, f.day
