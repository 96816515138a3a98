-- hoursctl findings, face match: photos whose face-match confidence is
-- below findings.min_face_confidence ($4).  Parameters and columns:
-- findings_short_lesson.sql.
-- columns: ?column? (finding), school_code, ?column? (subject),
--   local_time_z (at), face_confidence, format (detail),
--   jsonb_build_array (evidence)
SELECT 'face_mismatch', f.school_code, 'person ' || f.person_no, local_time_z(f.at),
       f.face_confidence::text,
       format('photo %s on terminal %s, class %s: face-match confidence %s', f.photo_no,
              f.terminal, f.class_id, f.face_confidence),
       jsonb_build_array(jsonb_build_object('table', 'photo', 'terminal', f.terminal,
                                            'photo_no', f.photo_no, 'person_no', f.person_no,
                                            'class_id', f.class_id, 'event', f.event,
                                            'taken_at', local_time_z(f.at),
                                            'face_confidence', f.face_confidence))::text
  FROM finding_face_match f
 WHERE ($1::text IS NULL OR f.school_code = $1)
   AND ($2::timestamptz IS NULL OR f.at >= $2)
   AND ($3::timestamptz IS NULL OR f.at < $3)
   AND f.face_confidence < $4::integer
 ORDER BY f.school_code, f.at, f.terminal, f.photo_no
