-- hoursctl recompute: progress derived again from the counted records
-- (record_verdict: accepted by ingest and counted by the judge)
-- next to the stored one ($1 = student number, NULL: every student); a row
-- per (student, part) where any figure differs.  Columns: student, part,
-- vehicle/simulator/classroom/remote/mileage_dkm/records from the records,
-- the same as stored.
-- columns: coalesce (student_no), coalesce (part), concat_ws (derived),
--   concat_ws (stored)
WITH d AS (
  SELECT student_no, part,
         count(*) FILTER (WHERE mode = 1) AS vehicle,
         count(*) FILTER (WHERE mode = 3) AS simulator,
         count(*) FILTER (WHERE mode = 2) AS classroom,
         count(*) FILTER (WHERE mode = 4) AS remote,
         sum(mileage_dkm) AS mileage_dkm,
         count(*) AS records
    FROM record_verdict
   WHERE verdict = 'accepted' AND ($1::text IS NULL OR student_no = $1)
   GROUP BY student_no, part),
p AS (SELECT * FROM progress WHERE $1::text IS NULL OR student_no = $1)
SELECT coalesce(d.student_no, p.student_no), coalesce(d.part, p.part),
       concat_ws('/', d.vehicle, d.simulator, d.classroom, d.remote, d.mileage_dkm, d.records),
       concat_ws('/', p.vehicle, p.simulator, p.classroom, p.remote, p.mileage_dkm, p.records)
  FROM d FULL JOIN p ON p.student_no = d.student_no AND p.part = d.part
 WHERE (d.vehicle, d.simulator, d.classroom, d.remote, d.mileage_dkm, d.records)
       IS DISTINCT FROM (p.vehicle, p.simulator, p.classroom, p.remote, p.mileage_dkm, p.records)
 ORDER BY 1, 2
