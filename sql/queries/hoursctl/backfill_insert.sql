-- backfill_insert.sql - a back-fill form and its first step, 'imported',
-- in one statement (backfill_facts.sql checked it first; the unique keys
-- on the form number and the scan's digest decide a race).  $1 form, $2
-- student, $3 school code, $4 part, $5 class, $6-$9 vehicle, classroom,
-- simulator and remote minutes, $10 mileage (0.1 km), $11 coach, $12
-- trained from, $13 trained to, $14-$19 student signature, coach
-- signature and school seal (who, when), $20 entered by, $21 cut-off,
-- $22 scan file name, $23 scan type, $24 the scan (hex), $25 its SHA-256
-- (hex).  Returns the form number.
-- columns: form_no
WITH f AS (
  INSERT INTO backfill_form (form_no, student_no, school_code, part, vehicle_class, vehicle,
                             classroom, simulator, remote, mileage_dkm, coach_no, trained_from,
                             trained_to, student_signed_by, student_signed_at, coach_signed_by,
                             coach_signed_at, sealed_by, sealed_at, entered_by, cutoff,
                             scan_name, scan_type, scan, scan_sha256)
  VALUES ($1, $2, $3, $4::smallint, $5, $6::int, $7::int, $8::int, $9::int, $10::bigint, $11,
          $12::date, $13::date, $14, $15::timestamptz, $16, $17::timestamptz, $18,
          $19::timestamptz, $20, $21::date, $22, $23, decode($24, 'hex'), decode($25, 'hex'))
  RETURNING form_no, entered_by)
INSERT INTO backfill_step (form_no, step, by_name)
SELECT form_no, 'imported', entered_by FROM f
RETURNING form_no
