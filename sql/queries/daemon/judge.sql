-- judge.sql - one batch of the judge: what needs the whole database,
-- decided for up to $1 records ingest accepted, in one statement (one
-- transaction) that also removes them from the queue.  hoursd writes
-- judge.batch_max_rows in for $1 and prepares the statement (src/judge.c).  Exactly once: the
-- queue rows are taken with SKIP LOCKED (several instances take disjoint
-- batches) and deleted in the transaction that writes the decisions, so
-- a batch that dies before its commit is taken again, whole.
--   * one vehicle per student and per coach and minute: minute_claim's
--     unique keys; a record whose claim is refused: student_overlap or
--     coach_overlap
--   * the daily cap per student, cap group and training day (UTC+8):
--     progress_day, minutes offered counted in record order
--   * progress per student and part, by kind (atomic increments)
--   * the one push packet of a part ready now or before (a unique key):
--     its minutes as the student's figures require (part_ready(): a held
--     licence takes the adding-class figures), part 3 after the practice
--     parts' mileage reaches the gate; students in judge_recheck too;
--     approved back-fill forms counted beside the terminals' minutes
-- Returns one row: how many were judged, by decision, the packets made,
-- and the longest wait in the queue (seconds).
-- columns: judged, counted, daily_cap, student_overlap, coach_overlap,
--   packets, oldest_s
WITH q AS (
  DELETE FROM judge_queue
   WHERE seq IN (SELECT seq FROM judge_queue ORDER BY seq LIMIT $1::int FOR UPDATE SKIP LOCKED)
  RETURNING seq, terminal_id, record_no, queued_at),
-- Each record by its key (OFFSET 0 keeps the lateral lookup an index
-- scan, whatever the table's size when the statement was planned): a
-- hash join, the plan made while training_record was small (a fresh
-- database, or after a TRUNCATE in the bench), hashed the whole table for
-- every batch; prepared, that plan stayed.
rin AS (
  SELECT q.seq, q.queued_at, q.terminal_id, q.record_no, r.record_time, r.student_no,
         r.coach_no, r.part, r.mode, r.vehicle_class, r.mileage_dkm,
         date_trunc('minute', r.record_time) AS minute,
         training_day(r.record_time) AS day, cap_group(r.part) AS grp
    FROM q CROSS JOIN LATERAL (SELECT t.record_time, t.student_no, t.coach_no, t.part, t.mode,
                                      t.vehicle_class, t.mileage_dkm
                                 FROM training_record t
                                WHERE t.terminal_id = q.terminal_id
                                  AND t.record_no = q.record_no OFFSET 0) r),
claim AS (
  INSERT INTO minute_claim (terminal_id, record_no, student_no, coach_no, minute)
  SELECT terminal_id, record_no, student_no, coach_no, minute FROM rin
   ORDER BY record_time, seq
  ON CONFLICT DO NOTHING
  RETURNING terminal_id, record_no),
-- IS TRUE keeps each IN a hashed subplan: as a join of two CTEs, whose
-- row counts the planner cannot know, it is planned as a nested loop,
-- quadratic in the batch.
claimed AS (
  SELECT * FROM rin
   WHERE ((terminal_id, record_no) IN (SELECT terminal_id, record_no FROM claim)) IS TRUE),
day_offered AS (
  SELECT student_no, grp, day, count(*) AS n FROM claimed GROUP BY student_no, grp, day),
day_total AS (
  INSERT INTO progress_day (student_no, cap_group, day, minutes)
  SELECT student_no, grp, day, n FROM day_offered ORDER BY student_no, grp, day
  ON CONFLICT (student_no, cap_group, day)
  DO UPDATE SET minutes = progress_day.minutes + EXCLUDED.minutes
  RETURNING student_no, cap_group, day, minutes),
ranked AS (
  SELECT c.*, row_number() OVER (g ORDER BY record_time, record_no) AS k, count(*) OVER g AS n
    FROM claimed c WINDOW g AS (PARTITION BY student_no, grp, day)),
-- A minute counts when the day's total before this batch plus its rank in
-- the batch stays within the cap of its part.
counted AS (
  SELECT r.* FROM ranked r
    JOIN day_total u ON u.student_no = r.student_no AND u.cap_group = r.grp AND u.day = r.day
    LEFT JOIN syllabus_part sp ON sp.vehicle_class = r.vehicle_class AND sp.part = r.part
   WHERE u.minutes - r.n + r.k <= coalesce(sp.daily_cap_minutes, 2147483647)),
decision AS (
  SELECT rin.terminal_id, rin.record_no, rin.queued_at,
         CASE WHEN rin.seq IN (SELECT seq FROM counted) THEN NULL
              WHEN rin.seq IN (SELECT seq FROM claimed) THEN 'daily_cap'
              WHEN EXISTS (SELECT 1 FROM minute_claim m
                            WHERE m.student_no = rin.student_no AND m.minute = rin.minute)
                   OR (rin.student_no, rin.minute) IN (SELECT student_no, minute FROM claimed)
              THEN 'student_overlap'
              ELSE 'coach_overlap' END AS reason
    FROM rin),
judged AS (
  INSERT INTO record_judgement (terminal_id, record_no, reason, queued_at)
  SELECT terminal_id, record_no, reason, queued_at FROM decision),
-- Progress per student and part, by kind: 1 vehicle, 2 classroom, 3 simulator, 4 remote.
part_sum AS (
  SELECT student_no, part, min(vehicle_class) AS vehicle_class,
         count(*) FILTER (WHERE mode = 1) AS vehicle, count(*) FILTER (WHERE mode = 3) AS simulator,
         count(*) FILTER (WHERE mode = 2) AS classroom, count(*) FILTER (WHERE mode = 4) AS remote,
         sum(mileage_dkm) AS mileage_dkm, min(minute) AS first_minute, max(minute) AS last_minute,
         count(*) AS records
    FROM counted GROUP BY student_no, part),
prog AS (
  INSERT INTO progress (student_no, part, vehicle_class, vehicle, simulator, classroom, remote,
                        mileage_dkm, first_minute, last_minute, records)
  SELECT student_no, part, vehicle_class, vehicle, simulator, classroom, remote, mileage_dkm,
         first_minute, last_minute, records
    FROM part_sum ORDER BY student_no, part
  ON CONFLICT (student_no, part) DO UPDATE
  SET vehicle = progress.vehicle + EXCLUDED.vehicle,
      simulator = progress.simulator + EXCLUDED.simulator,
      classroom = progress.classroom + EXCLUDED.classroom,
      remote = progress.remote + EXCLUDED.remote,
      mileage_dkm = progress.mileage_dkm + EXCLUDED.mileage_dkm,
      first_minute = least(progress.first_minute, EXCLUDED.first_minute),
      last_minute = greatest(progress.last_minute, EXCLUDED.last_minute),
      records = progress.records + EXCLUDED.records, updated_at = now()
  RETURNING *),
-- Students to look at again without new minutes (a held licence recorded):
-- taken from their queue like records, removed in this transaction.
recheck AS (
  DELETE FROM judge_recheck
   WHERE student_no IN (SELECT student_no FROM judge_recheck ORDER BY queued_at LIMIT 1000
                         FOR UPDATE SKIP LOCKED)
  RETURNING student_no),
-- Every part of the students this batch touched or rechecks, as it stands:
-- the rows prog has just written, the others as stored.
terminal_part AS (
  SELECT * FROM prog
  UNION ALL
  SELECT pr.* FROM progress pr
   WHERE ((pr.student_no IN (SELECT student_no FROM prog)) IS TRUE
          OR (pr.student_no IN (SELECT student_no FROM recheck)) IS TRUE)
     AND NOT ((pr.student_no, pr.part) IN (SELECT student_no, part FROM prog)) IS TRUE),
-- Each of those parts with the approved back-fill forms of those
-- students added kind by kind (progress_with_forms(), sql/013): a part's
-- second source; a part may have forms and no terminal minutes.  And each
-- student's mileage over the practice parts, which gates part 3
-- (syllabus_part).
standing AS (
  SELECT s.*, (sum((s.total).mileage_dkm) FILTER (WHERE cap_group((s.total).part) = 'practice')
                OVER (PARTITION BY (s.total).student_no))::bigint AS practice_dkm
    FROM (SELECT progress_with_forms(t, b) AS total, b.student_no IS NOT NULL AS backfilled
            FROM terminal_part t
            FULL JOIN (SELECT * FROM backfill_progress bp
                        WHERE (bp.student_no IN (SELECT student_no FROM prog)) IS TRUE
                           OR (bp.student_no IN (SELECT student_no FROM recheck)) IS TRUE) b
              ON b.student_no = t.student_no AND b.part = t.part) s),
-- A part ready now or before: its one packet, decided under the unique key;
-- marked back-filled when approved forms are among its minutes.
packet AS (
  INSERT INTO push_packet (id, student_no, part, vehicle_class, backfilled)
  SELECT gen_random_uuid(), (s.total).student_no, (s.total).part, (s.total).vehicle_class,
         s.backfilled
    FROM standing s
    JOIN syllabus_part sp ON sp.vehicle_class = (s.total).vehicle_class
                         AND sp.part = (s.total).part
   WHERE part_ready(s.total, sp,
                    ((s.total).student_no IN (SELECT student_no FROM licence_held)) IS TRUE,
                    s.practice_dkm)
  ON CONFLICT (student_no, part) DO NOTHING
  RETURNING id)
SELECT count(*) AS judged,
       count(*) FILTER (WHERE reason IS NULL) AS counted,
       count(*) FILTER (WHERE reason = 'daily_cap') AS daily_cap,
       count(*) FILTER (WHERE reason = 'student_overlap') AS student_overlap,
       count(*) FILTER (WHERE reason = 'coach_overlap') AS coach_overlap,
       (SELECT count(*) FROM packet) AS packets,
       coalesce(extract(epoch FROM clock_timestamp() - min(queued_at)), 0) AS oldest_s
  FROM decision
