-- ingest.sql - one batch of ingest: every row as received, with the
-- verdict hoursd gave it, in one statement (one transaction).
--   one parameter a column of each kind, an array in binary format: the
--   columns include/rows.h lists for its kind; @kind@ below becomes
--   "unnest($i::type[], ...) AS x(name, ...)" when hoursd starts
--   (rows_statement()), the parameters numbered in the order position,
--   event, record, photo
-- No rules here: what needs the whole database is the judge's
-- (sql/queries/daemon/judge.sql).  Every insert is idempotent on the natural key,
-- so a batch written again after a lost connection changes nothing.
-- Returns a row for each record that was not stored now: a resend (of a
-- record stored before, with the verdict stored then), a conflict, or
-- unknown (stored by another batch at the same time).
-- columns: i, outcome, stored_verdict
WITH pos AS (
  INSERT INTO position (terminal_id, fix_time, lat_e6, lon_e6, altitude_m, speed_dkmh,
                        direction, alarm, status, fix_valid)
  SELECT terminal_id, to_timestamp(fix_time), lat_e6, lon_e6, altitude_m, speed_dkmh,
         direction, alarm, status, fix_valid
    FROM @position@
  ON CONFLICT DO NOTHING),
ev AS (
  INSERT INTO session_event (terminal_id, kind, event_time, person_no, coach_no, class_id,
                             course_code, minutes, mileage_dkm, lat_e6, lon_e6, fix_valid,
                             verdict, reason, ext_serial, raw, signed, outside_schedule,
                             flags)
  SELECT terminal_id, kind, to_timestamp(event_time), person_no, coach_no, class_id,
         course_code, minutes, mileage_dkm, lat_e6, lon_e6, fix_valid,
         CASE WHEN reason IS NULL THEN 'accepted' ELSE 'rejected' END, reason, ext_serial,
         raw, NOT came_unsigned, outside_schedule,
         flags
    FROM @event@
  ON CONFLICT DO NOTHING),
ph AS (
  INSERT INTO photo (terminal_id, photo_no, person_no, class_id, upload_mode, channel,
                     size_code, event, face_confidence, taken_at, lat_e6, lon_e6, size,
                     sha256, data)
  SELECT terminal_id, photo_no, person_no, class_id, upload_mode, channel, size_code, event,
         face_confidence, to_timestamp(taken_at), lat_e6, lon_e6, length(data),
         sha256(data), data
    FROM @photo@
  ON CONFLICT DO NOTHING),
-- The records: a CTE read by several parts is materialized once.
rin AS (
  SELECT x.*,
         row_number() OVER (PARTITION BY terminal_id, record_no ORDER BY i) AS copy,
         first_value(reason) OVER (PARTITION BY terminal_id, record_no ORDER BY i) AS first_reason
    FROM @record@),
ins AS (
  INSERT INTO training_record (terminal_id, record_no, record_time, student_no, coach_no,
                               class_id, course_code, part, mode, vehicle_class, upload_type,
                               record_status, max_speed_dkmh, mileage_dkm, lat_e6, lon_e6,
                               fix_valid, gnss_time, session_login_at, verdict, reason, raw,
                               raw_sha256, gnss_speed_dkmh, recorder_speed_dkmh,
                               gnss_mileage_dkm, engine_rpm, altitude_m, fuel_dl, signed,
                               received_at, leaf)
  SELECT terminal_id, record_no, to_timestamp(record_time), student_no, coach_no, class_id,
         course_code, part, mode, vehicle_class, upload_type, record_status, max_speed_dkmh,
         mileage_dkm, lat_e6, lon_e6, fix_valid, to_timestamp(gnss_time),
         to_timestamp(session_login),
         CASE WHEN reason IS NULL THEN 'accepted' ELSE 'rejected' END, reason, raw, sha256(raw),
         gnss_speed_dkmh, recorder_speed_dkmh, gnss_mileage_dkm, engine_rpm, altitude_m,
         fuel_dl, NOT came_unsigned,
         -- the evidence (migration 025): hoursd's received_at (Unix microseconds, exact)
         -- and the leaf it computed from these values (none: the log computes it)
         timestamptz 'epoch' + received_us * interval '1 microsecond', nullif(leaf, '')
    FROM rin WHERE copy = 1
   -- one order for every batch: two written at once on two connections wait
   -- for each other's keys in the same order, never in a cycle
   ORDER BY terminal_id, record_no
  ON CONFLICT (terminal_id, record_no) DO NOTHING
  RETURNING terminal_id, record_no, verdict),
-- The records ingest accepted wait for the judge.
q AS (
  INSERT INTO judge_queue (terminal_id, record_no)
  SELECT terminal_id, record_no FROM ins WHERE verdict = 'accepted'),
-- A record stored before (not by this statement: its snapshot does not
-- see ins).  The same record when the bytes are; a record uploaded again
-- on the platform's command (upload type 2) has another upload type byte,
-- so other bytes and another signature: the same record when every field
-- it reports is the stored one's.  Looked up record by record in the
-- primary key (LIMIT 1 keeps the lookup a lateral one: as a join, its
-- plan could hash the whole table).
old AS (
  SELECT rin.i, rin.terminal_id, rin.record_no, tr.verdict, rin.raw,
         tr.raw_sha256 = sha256(rin.raw)
         OR (rin.upload_type = 2
             AND (tr.record_time, tr.student_no, tr.coach_no, tr.class_id, tr.course_code,
                  tr.record_status, tr.max_speed_dkmh, tr.mileage_dkm, tr.lat_e6, tr.lon_e6)
               = (to_timestamp(rin.record_time), rin.student_no, rin.coach_no, rin.class_id,
                  rin.course_code, rin.record_status, rin.max_speed_dkmh, rin.mileage_dkm,
                  rin.lat_e6, rin.lon_e6)) AS same
    FROM rin
    JOIN LATERAL (SELECT * FROM training_record t
                   WHERE t.terminal_id = rin.terminal_id AND t.record_no = rin.record_no
                   LIMIT 1) tr ON true),
conflict AS (
  INSERT INTO training_record_conflict (terminal_id, record_no, raw, raw_sha256)
  SELECT terminal_id, record_no, raw, sha256(raw) FROM old WHERE NOT same
  ON CONFLICT DO NOTHING)
-- Membership tests between CTEs are IN subplans the planner hashes (IS
-- TRUE keeps them so): as joins of CTEs, whose sizes the planner cannot
-- know, they become nested loops, quadratic in the batch.
SELECT i, CASE WHEN same THEN 'resend' ELSE 'conflict' END AS outcome, verdict AS stored_verdict
  FROM old
UNION ALL
-- Twice in this batch: the verdict the first copy was stored with.
SELECT i, 'resend', CASE WHEN first_reason IS NULL THEN 'accepted' ELSE 'rejected' END
  FROM rin
 WHERE copy > 1 AND NOT (i IN (SELECT i FROM old)) IS TRUE
UNION ALL
-- Inserted meanwhile by another batch (another connection, another
-- instance): in neither ins nor old, and its verdict not known here.
-- ingest.c writes the batch again once this one commits: then it is old,
-- answered with its stored verdict (never a failure the terminal would
-- not resend).
SELECT i, 'unknown', NULL
  FROM rin
 WHERE copy = 1 AND NOT (i IN (SELECT i FROM old)) IS TRUE
   AND NOT ((terminal_id, record_no) IN (SELECT terminal_id, record_no FROM ins)) IS TRUE
