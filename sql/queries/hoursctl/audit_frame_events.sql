-- hoursctl audit verify: the logins and logouts (session_event) of the
-- time range $1-$2 (event_time; NULL: open) and school $3 (NULL: every
-- school), read through a cursor (evidence.c), as audit_frame_records.sql
-- (times as there).
-- columns: terminal_id, kind, event_time, person_no, coach_no, class_id, course_code, minutes,
--   mileage_dkm, lat_e6, lon_e6, fix_valid, ext_serial, signed, reason, raw, received_at
SELECT e.terminal_id, e.kind, e.event_time,
       e.person_no, e.coach_no, e.class_id, e.course_code, e.minutes, e.mileage_dkm, e.lat_e6,
       e.lon_e6, e.fix_valid, e.ext_serial, e.signed, coalesce(e.reason, '') AS reason,
       e.raw, e.received_at
  FROM session_event e
 WHERE ($1::timestamptz IS NULL OR e.event_time >= $1::timestamptz)
   AND ($2::timestamptz IS NULL OR e.event_time < $2::timestamptz)
   AND ($3::bigint IS NULL
        OR e.terminal_id IN (SELECT id FROM terminal WHERE school_id = $3::bigint))
