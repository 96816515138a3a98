-- The student's approved back-filled forms (补录单) of a part, for the
-- teaching log's section "back-filled hours" ($1 = student number, $2 =
-- part); only approved forms count (backfill_progress), so only they are
-- printed.  Times in UTC+8.
-- Columns: 0 form number, 1 vehicle, 2 classroom, 3 simulator, 4 remote
-- minutes, 5 mileage (km, text), 6 coach, 7 the three confirmations as one
-- line of text (student signed / coach signed / school sealed: who and
-- when), 8 approved by and when, 9 the scanned form's SHA-256 (hex).
-- columns: form_no, vehicle, classroom, simulator, remote, to_char (km),
--   coach_no, format (confirmed), format (approved), encode (scan_sha256)
SELECT f.form_no, f.vehicle, f.classroom, f.simulator, f.remote,
       to_char(f.mileage_dkm / 10.0, 'FM999999990.0'), f.coach_no,
       format('%s %s / %s %s / %s %s',
              f.student_signed_by, local_minute(f.student_signed_at),
              f.coach_signed_by, local_minute(f.coach_signed_at),
              f.sealed_by, local_minute(f.sealed_at)),
       format('%s %s', s.by_name, local_minute(s.at)),
       encode(f.scan_sha256, 'hex')
  FROM backfill_form f
  JOIN backfill_step s ON s.form_no = f.form_no AND s.step = 'approved'
 WHERE f.student_no = $1 AND f.part = $2::int
 ORDER BY f.form_no
