-- hoursctl audit verify: the training records of the time range $1-$2
-- (record_time; NULL: open) and school $3 (NULL: every school), read
-- through a cursor (evidence.c) in the binary format: each column taken
-- from the terminal's frame, what hoursd added (signed, reason), the raw
-- frame and its stored digest.  Times as timestamptz (in the binary
-- format, microseconds since 2000-01-01 UTC: evidence.c makes them Unix
-- seconds, with no numeric arithmetic on PostgreSQL's side).
-- columns: terminal_id, record_no, record_time, student_no, coach_no, class_id, course_code,
--   part, mode, vehicle_class, upload_type, record_status, max_speed_dkmh, mileage_dkm,
--   lat_e6, lon_e6, fix_valid, gnss_time, gnss_speed_dkmh, recorder_speed_dkmh,
--   gnss_mileage_dkm, engine_rpm, altitude_m, fuel_dl, signed, reason, raw, raw_sha256,
--   received_at
SELECT r.terminal_id, r.record_no, r.record_time,
       r.student_no, r.coach_no, r.class_id, r.course_code, r.part, r.mode, r.vehicle_class,
       r.upload_type, r.record_status, r.max_speed_dkmh, r.mileage_dkm, r.lat_e6, r.lon_e6,
       r.fix_valid, r.gnss_time, r.gnss_speed_dkmh,
       r.recorder_speed_dkmh, r.gnss_mileage_dkm, r.engine_rpm, r.altitude_m, r.fuel_dl,
       r.signed, coalesce(r.reason, '') AS reason, r.raw,
       r.raw_sha256,
       r.received_at
  FROM training_record r
 WHERE ($1::timestamptz IS NULL OR r.record_time >= $1::timestamptz)
   AND ($2::timestamptz IS NULL OR r.record_time < $2::timestamptz)
   AND ($3::bigint IS NULL
        OR r.terminal_id IN (SELECT id FROM terminal WHERE school_id = $3::bigint))
