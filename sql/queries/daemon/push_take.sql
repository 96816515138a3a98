-- The pusher takes due packets ($1 = lease in seconds, $2 = how many at
-- most): marked 'sending' with the attempt counted and the next attempt at
-- the lease's end, so several instances share the outbox (SKIP LOCKED) and
-- a packet whose instance died comes back.  For a packet without a body
-- yet, the body's values gathered here (docs/push-contract.md, section 3).
-- Columns: 0 id, 1 attempt, 2 attempts since a re-drive, 3 body (NULL: not
-- built yet), 4 student, 5 part, 6 vehicle class, 7 backfilled, 8 created
-- (UTC+8), 9 school code, 10 id card SHA-256, 11-14 vehicle, simulator,
-- classroom and remote minutes, 15 km, 16 first and 17 last minute (UTC+8),
-- 18 record count, 19 records SHA-256, 20 the profile the kept body was
-- built under (NULL: none, or before 012), 21 the back-fill forms (their
-- numbers, comma-separated; NULL: none), 22 the back-filled minutes (what
-- the approved forms add to the counted total), 23 the national
-- platform's answers of errorcode 1 since the last re-drive (020), 24 the
-- seal key (PEM) of the packet's school (school_seal, 020; NULL: none);
-- 9-19 and 21-22 and 24 NULL when the body is kept.  Minutes, mileage and the first and last minute are the
-- terminals' progress and the approved forms (backfill_progress) together;
-- a form's days count from 00:00 (UTC+8).  Forms count in a packet marked
-- back-filled only: a part the terminals met alone stays as it was met.
-- columns: id, attempts, ?column? (since_redrive), body, student_no, part,
--   vehicle_class, backfilled, to_char (created), school, id_card, veh, sim,
--   cls, rem, km, first, last, n, digest, profile, forms, bf_minutes,
--   count (failed_1), seal
WITH t AS (
  UPDATE push_packet p
     SET state = 'sending', attempts = p.attempts + 1,
         next_attempt = now() + make_interval(secs => $1::int)
   WHERE p.id IN (SELECT id FROM push_packet
                   WHERE state IN ('pending', 'sending') AND next_attempt <= now()
                   ORDER BY next_attempt LIMIT $2::int
                     FOR UPDATE SKIP LOCKED)
  RETURNING p.*)
SELECT t.id, t.attempts, t.attempts - t.redrive_attempts, t.body, t.student_no, t.part,
       t.vehicle_class, t.backfilled,
       to_char(local_clock(t.created_at), 'YYYY-MM-DD"T"HH24:MI:SS"+08:00"'),
       b.school, b.id_card, b.veh, b.sim, b.cls, b.rem, b.km, b.first, b.last, b.n, b.digest,
       t.profile, b.forms, b.bf_minutes,
       (SELECT count(*) FROM push_attempt a
         WHERE a.packet_id = t.id AND a.errorcode = 1
           AND a.attempt > t.redrive_attempts),
       b.seal
  FROM t
  LEFT JOIN LATERAL (
    SELECT
      -- The school of the terminals that recorded the minutes (most
      -- records), else the student's (packet_school(), 012).
      (SELECT s.code FROM school s
        WHERE s.id = packet_school(t.student_no, t.part)) AS school,
      (SELECT encode(st.id_card_sha256, 'hex') FROM student st
        WHERE st.student_no = t.student_no AND length(st.id_card_sha256) = 32) AS id_card,
      -- Minutes as counted, each kind at most what the syllabus lets it
      -- contribute (capped(), sql/007_pipeline.sql).
      capped(pr.vehicle, sp.max_vehicle) AS veh,
      capped(pr.simulator, sp.max_simulator) AS sim,
      capped(pr.classroom, sp.max_classroom) AS cls,
      capped(pr.remote, sp.max_remote) AS rem,
      (pr.mileage_dkm / 10)::text || '.' || (pr.mileage_dkm % 10)::text AS km,
      to_char(local_clock(pr.first_minute), 'YYYY-MM-DD"T"HH24:MI:00"+08:00"') AS first,
      to_char(local_clock(pr.last_minute), 'YYYY-MM-DD"T"HH24:MI:00"+08:00"') AS last,
      d.n, d.digest, f.forms,
      (SELECT ss.key_pem FROM school_seal ss
        WHERE ss.school_id = packet_school(t.student_no, t.part)) AS seal,
      -- What the approved forms add to the counted total.
      CASE WHEN f.forms IS NOT NULL THEN
        counted_minutes(pr, sp) - coalesce(counted_minutes(p, sp), 0)
      END AS bf_minutes
      FROM (SELECT 1) one
      -- The terminals' progress and the approved forms, kind by kind
      -- (progress_with_forms(), sql/013); no row when neither has any.
      LEFT JOIN progress p ON p.student_no = t.student_no AND p.part = t.part
      LEFT JOIN backfill_progress f ON f.student_no = t.student_no AND f.part = t.part
                                    AND t.backfilled
      LEFT JOIN LATERAL (SELECT (progress_with_forms(p, f)).*
                          WHERE p.student_no IS NOT NULL OR f.student_no IS NOT NULL) pr ON true
      LEFT JOIN syllabus_part sp ON sp.vehicle_class = t.vehicle_class AND sp.part = t.part
      -- One line terminal_no|record_no\n per counted record, sorted by
      -- bytes, SHA-256.
      CROSS JOIN (SELECT count(*) AS n,
                         encode(sha256(coalesce(string_agg(l, ''::bytea ORDER BY l),
                                                ''::bytea)), 'hex') AS digest
                    FROM (SELECT convert_to(coalesce(te.terminal_no, te.phone) || '|'
                                            || r.record_no || E'\n', 'UTF8') AS l
                            FROM record_verdict r
                            JOIN terminal te ON te.id = r.terminal_id
                           WHERE r.student_no = t.student_no AND r.part = t.part
                             AND r.verdict = 'accepted') x) d) b
    ON t.body IS NULL
