-- backfill_show.sql - one form (hoursctl backfill show FORM, $1), as
-- entered.  One row (none: no such form); times in UTC+8.
-- columns: form_no, student_no, school_code, part, vehicle_class, vehicle,
--   classroom, simulator, remote, round (km), coach_no, trained_from,
--   trained_to, student_signed_by, to_char (student_signed_at),
--   coach_signed_by, to_char (coach_signed_at), sealed_by,
--   to_char (sealed_at), entered_by, cutoff, scan_name, scan_type,
--   length (scan_size), encode (scan_sha256), state, coalesce (packet)
SELECT f.form_no, f.student_no, f.school_code, f.part, f.vehicle_class, f.vehicle,
       f.classroom, f.simulator, f.remote, round(f.mileage_dkm / 10.0, 1), f.coach_no,
       f.trained_from::text, f.trained_to::text,
       f.student_signed_by,
       to_char(local_clock(f.student_signed_at), 'YYYY-MM-DD HH24:MI"+08"'),
       f.coach_signed_by,
       to_char(local_clock(f.coach_signed_at), 'YYYY-MM-DD HH24:MI"+08"'),
       f.sealed_by,
       to_char(local_clock(f.sealed_at), 'YYYY-MM-DD HH24:MI"+08"'),
       f.entered_by, f.cutoff::text, f.scan_name, f.scan_type, length(f.scan),
       encode(f.scan_sha256, 'hex'), st.state,
       coalesce((SELECT p.id::text || ' (' || p.state || ', '
                        || CASE WHEN p.backfilled THEN 'back-filled' ELSE 'terminals only' END
                        || ')'
                   FROM push_packet p WHERE p.student_no = f.student_no AND p.part = f.part),
                '-')
  FROM backfill_form f JOIN backfill_state st USING (form_no)
 WHERE f.form_no = $1
