-- Counted minutes and mileage of a student, in all and in one part ($2):
-- the student-login answer (0x8201) tells the terminal.  Reads progress as
-- judged so far.
-- columns: coalesce (minutes), coalesce (part_minutes), coalesce (dkm),
--   coalesce (part_dkm)
SELECT coalesce(sum(vehicle + simulator + classroom + remote), 0),
       coalesce(sum(vehicle + simulator + classroom + remote) FILTER (WHERE part = $2::int), 0),
       coalesce(sum(mileage_dkm), 0),
       coalesce(sum(mileage_dkm) FILTER (WHERE part = $2::int), 0)
  FROM progress WHERE student_no = $1
