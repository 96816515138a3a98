-- hoursctl explain: a student's progress per part ($1 = student number),
-- with the minutes the part requires of this student (the adding-class
-- figure when a licence is held) and its push packet's state.  Columns:
-- part, vehicle class, vehicle, simulator, classroom and remote minutes,
-- km, records, required minutes ('?' when the syllabus has no such part),
-- push state ('-' when none), first and last minute (UTC+8).
-- columns: part, vehicle_class, vehicle, simulator, classroom, remote,
--   round (km), records, coalesce (required), coalesce (push_state),
--   coalesce (first_minute), coalesce (last_minute)
SELECT p.part, p.vehicle_class, p.vehicle, p.simulator, p.classroom, p.remote,
       round(p.mileage_dkm / 10.0, 1), p.records,
       coalesce(required_minutes(sp, EXISTS (SELECT 1 FROM licence_held h
                                              WHERE h.student_no = p.student_no))::text, '?'),
       coalesce(pk.state, '-'),
       coalesce(local_minute(p.first_minute), ''),
       coalesce(local_minute(p.last_minute), '')
  FROM progress p
  LEFT JOIN syllabus_part sp ON sp.vehicle_class = p.vehicle_class AND sp.part = p.part
  LEFT JOIN push_packet pk ON pk.student_no = p.student_no AND pk.part = p.part
 WHERE p.student_no = $1
 ORDER BY p.part
