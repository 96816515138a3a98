-- hoursctl findings, content reduced: a student's part met without a
-- record of every subject syllabus_subject lists for it.  Parameters
-- and columns: findings_short_lesson.sql ($4 unused: no threshold).
-- columns: ?column? (finding), coalesce (school_code), format (subject),
--   local_time_z (at), count (measure), format (detail), jsonb_agg (evidence)
SELECT 'content_reduced', coalesce(f.school_code, ''),
       format('student %s part %s (%s)', f.student_no, f.part, f.vehicle_class),
       local_time_z(max(f.last_minute)), count(*)::text,
       format('part met without subject %s; subjects trained: %s',
              string_agg(lpad(f.subject::text, 2, '0') || ' ' || f.subject_name, ', '
                         ORDER BY f.subject),
              coalesce(min(f.subjects_trained), 'none')),
       (SELECT jsonb_agg(jsonb_build_object('table', 'record_verdict', 'course_code', c.course_code,
                                            'records', c.n, 'first', local_time_z(c.first),
                                            'last', local_time_z(c.last))
                         ORDER BY c.course_code)
          FROM (SELECT v.course_code, count(*) AS n, min(v.record_time) AS first,
                       max(v.record_time) AS last
                  FROM record_verdict v
                 WHERE v.student_no = f.student_no AND v.part = f.part
                   AND v.verdict = 'accepted'
                 GROUP BY v.course_code) c)::text
  FROM finding_content_reduced f
 WHERE ($1::text IS NULL OR f.school_code = $1)
   AND ($2::timestamptz IS NULL OR f.last_minute >= $2)
   AND ($3::timestamptz IS NULL OR f.last_minute < $3)
   AND $4::integer IS NOT NULL
 GROUP BY f.school_code, f.student_no, f.part, f.vehicle_class
 ORDER BY 2, f.student_no, f.part
