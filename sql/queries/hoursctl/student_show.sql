-- student_show.sql - hoursctl student show STUDENT ($1).  One row (none:
-- no such student): student, school code and name, class, enrolled on,
-- legacy, pre-entered on, id-card SHA-256 (hex, '' when none), enrolled
-- by, created (UTC+8), licence held ('' when none).  The identity-card
-- number itself is not read (student_identity: hoursd's role and
-- auditors only).
-- columns: student_no, code, name, vehicle_class, coalesce (enrolled_on),
--   legacy, coalesce (pre_entered_on), coalesce (id_card_sha256),
--   enrolled_by, to_char (created), coalesce (held_class)
SELECT s.student_no, sc.code, sc.name, s.vehicle_class, coalesce(s.enrolled_on::text, '-'),
       s.legacy, coalesce(s.pre_entered_on::text, '-'),
       coalesce(encode(s.id_card_sha256, 'hex'), ''), s.enrolled_by,
       to_char(local_clock(s.created_at), 'YYYY-MM-DD HH24:MI"+08"'),
       coalesce((SELECT held_class FROM licence_held h WHERE h.student_no = s.student_no), '')
  FROM student s JOIN school sc ON sc.id = s.school_id
 WHERE s.student_no = $1
