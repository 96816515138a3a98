-- The teaching log (电子教学日志) of a student's part, as one JSON document
-- for src/pdf/teachlog.c ($1 = student number, $2 = part; NULL: the part
-- of the student's latest progress, else of its approved forms).  Column:
-- the document, NULL when the student has no minutes in that part.
-- Lessons are the student logins (session_login_at) of the counted records
-- of the part, with the coach, the terminal and its vehicle, the times
-- (UTC+8), the minutes counted and the SHA-256 of the photos the terminal
-- took of the student in that class.  Totals are the terminals' progress
-- and the approved back-filled forms together (backfill_progress; not when
-- the part's packet was made by the terminals alone, as push_take.sql
-- counts them), each kind capped by the syllabus as the push sends them
-- (capped(), sql/007_pipeline.sql): a legacy student's part may have forms
-- only.  rnums, the counted records' own numbers for the national body's
-- recarray.
-- columns: json_build_object (doc)
WITH sel AS (
  SELECT coalesce($2::int,
                  (SELECT q.part FROM progress q WHERE q.student_no = $1
                    ORDER BY q.updated_at DESC, q.part DESC LIMIT 1),
                  (SELECT f.part FROM backfill_progress f WHERE f.student_no = $1
                    ORDER BY f.part DESC LIMIT 1)) AS part),
bf AS (
  SELECT f.* FROM backfill_progress f, sel
   WHERE f.student_no = $1 AND f.part = sel.part
     AND NOT EXISTS (SELECT 1 FROM push_packet k
                      WHERE k.student_no = $1 AND k.part = sel.part AND NOT k.backfilled)),
pr AS (
  SELECT (progress_with_forms(p, bf)).*
    FROM sel
    LEFT JOIN progress p ON p.student_no = $1 AND p.part = sel.part
    LEFT JOIN bf ON true
   WHERE p.student_no IS NOT NULL OR bf.student_no IS NOT NULL),
rec AS (
  SELECT r.* FROM record_verdict r, pr
   WHERE r.student_no = pr.student_no AND r.part = pr.part AND r.verdict = 'accepted'),
les AS (
  SELECT r.terminal_id, r.session_login_at, min(r.class_id) AS class_id,
         min(r.course_code) AS course_code,
         min(r.coach_no) AS coach_no, min(r.record_time) AS first, max(r.record_time) AS last,
         count(*) AS minutes, sum(r.mileage_dkm) AS dkm
    FROM rec r GROUP BY r.terminal_id, r.session_login_at)
SELECT json_build_object(
  'student_no', pr.student_no, 'part', pr.part, 'subject', pr.part,
  'vehicle_class', pr.vehicle_class,
  'school_code', s.code, 'school_name', s.name,
  'generated_at', local_time(now()),
  'totals', json_build_object(
    'vehicle', capped(pr.vehicle, sp.max_vehicle),
    'simulator', capped(pr.simulator, sp.max_simulator),
    'classroom', capped(pr.classroom, sp.max_classroom),
    'remote', capped(pr.remote, sp.max_remote),
    'total', counted_minutes(pr, sp),
    -- as the judge required it: the reduced figure for a licence held (008)
    'required', required_minutes(sp, EXISTS (SELECT 1 FROM licence_held h
                                              WHERE h.student_no = pr.student_no)),
    'mileage_km', (pr.mileage_dkm / 10)::text || '.' || (pr.mileage_dkm % 10)::text,
    'records', (SELECT count(*) FROM rec)),
  -- The counted records' own numbers (0x0203's 26-digit record number,
  -- which begins with the terminal's number), as the public code sends
  -- them in the national body's recarray; not drawn in the PDF.
  'rnums', coalesce((SELECT json_agg(DISTINCT r.record_no ORDER BY r.record_no)
                       FROM rec r), '[]'::json),
  -- The teaching log of each lesson, /classrecord's members (its recnum:
  -- the terminal's number and the lesson's start, yyMMddHHmm, UTC+8:
  -- classrecord_recnum(), 028), and
  -- whether the platform accepted it already (teaching_log_sent).
  'classrecords', coalesce((
    SELECT json_agg(json_build_object(
             'recnum', c.recnum, 'sent', EXISTS (SELECT 1 FROM teaching_log_sent t
                                                  WHERE t.recnum = c.recnum),
             -- queued: the lesson closed and its log waits in the upward
             -- queue (028), which sends it; the stage hours wait for it.
             'queued', EXISTS (SELECT 1 FROM upward_item u
                                WHERE u.kind = 'classrecord' AND u.state IN ('pending', 'sending')
                                  AND u.ref = l.terminal_id AND u.person_no = pr.student_no
                                  AND u.lesson_at = l.session_login_at),
             'inscode', s.code, 'stunum', pr.student_no, 'coachnum', l.coach_no,
             'simunum', te.phone, 'platnum', coalesce(te.terminal_no, te.phone),
             -- carnum: the vehicle bound to the terminal when the lesson began
             -- (terminal_binding, 016), its national number, else its plate.
             'carnum', coalesce((SELECT coalesce(v.vehicle_no, v.plate)
                                   FROM terminal_binding b JOIN vehicle v ON v.id = b.vehicle_id
                                  WHERE b.terminal_id = l.terminal_id AND b.bound_at <= l.first
                                    AND (b.unbound_at IS NULL OR b.unbound_at > l.first)
                                  ORDER BY b.bound_at DESC LIMIT 1), ''),
             'subjcode', coalesce(l.course_code, ''),
             'starttime', to_char(local_clock(l.first), 'YYYYMMDDHH24MISS'),
             'endtime', to_char(local_clock(l.last) + interval '1 minute', 'YYYYMMDDHH24MISS'),
             'duration', l.minutes, 'total', l.minutes, 'part', pr.part,
             'mileage_km', (l.dkm / 10)::text || '.' || (l.dkm % 10)::text,
             'avevelocity', round(l.dkm * 6.0 / greatest(l.minutes, 1), 1)::text)
             ORDER BY l.first, l.terminal_id)
      FROM les l
      JOIN terminal te ON te.id = l.terminal_id
      CROSS JOIN LATERAL (SELECT classrecord_recnum(l.terminal_id,
                                                    coalesce(l.session_login_at, l.first))
                                 AS recnum) c), '[]'::json),
  'lessons', coalesce((
    SELECT json_agg(json_build_object(
             'terminal', coalesce(te.terminal_no, te.phone),
             'plate', v.plate,
             'coach_no', l.coach_no,
             'login', local_minute(coalesce(l.session_login_at, l.first)),
             'first', local_minute(l.first),
             'last', local_minute(l.last),
             'minutes', l.minutes,
             'mileage_km', (l.dkm / 10)::text || '.' || (l.dkm % 10)::text,
             'photos', coalesce((SELECT json_agg(encode(ph.sha256, 'hex') ORDER BY ph.taken_at, ph.photo_no)
                                   FROM photo ph
                                  WHERE ph.terminal_id = l.terminal_id
                                    AND ph.class_id = l.class_id
                                    AND ph.person_no = pr.student_no), '[]'::json))
             ORDER BY l.first, l.terminal_id)
      FROM les l
      JOIN terminal te ON te.id = l.terminal_id
      LEFT JOIN vehicle v ON v.id = te.vehicle_id), '[]'::json))::text
  FROM pr
  LEFT JOIN syllabus_part sp ON sp.vehicle_class = pr.vehicle_class AND sp.part = pr.part
  LEFT JOIN LATERAL (
    -- The school of the terminals that recorded the minutes (most
    -- records), else the student's: as the push's school_code.
    SELECT sc.code, sc.name FROM school sc
     WHERE sc.id = packet_school(pr.student_no, pr.part)) s
    ON true
