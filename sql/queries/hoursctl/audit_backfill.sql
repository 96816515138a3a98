-- hoursctl explain: a student's back-fill forms per part ($1 = student
-- number) beside the terminals' minutes, each source apart and counted
-- together as the judge counts them (part_total, counted_minutes(): each
-- kind capped).
-- Columns: part, the approved forms' vehicle, simulator, classroom and
-- remote minutes and km, the approved forms, the forms pending, the
-- terminals' counted minutes, both counted together, required ('?': no
-- syllabus part), push state ('-': none) with 'back-filled' when marked.
-- columns: part, coalesce (vehicle), coalesce (simulator),
--   coalesce (classroom), coalesce (remote), round (km), coalesce (forms),
--   coalesce (pending), coalesce (terminals), ?column? (counted),
--   coalesce (required), coalesce (push_state)
WITH parts AS (
  SELECT part FROM backfill_form WHERE student_no = $1 GROUP BY part),
bp AS (SELECT * FROM backfill_progress WHERE student_no = $1)
SELECT pt.part, coalesce(b.vehicle, 0), coalesce(b.simulator, 0), coalesce(b.classroom, 0),
       coalesce(b.remote, 0), round(coalesce(b.mileage_dkm, 0) / 10.0, 1),
       coalesce(b.forms, '-'),
       coalesce((SELECT string_agg(st.form_no, ',' ORDER BY st.form_no) FROM backfill_state st
                  WHERE st.student_no = $1 AND st.part = pt.part AND st.state = 'pending'), '-'),
       coalesce(counted_minutes(p, sp), 0),
       coalesce(counted_minutes(t.vehicle, t.simulator, t.classroom, t.remote, sp), 0)
         AS "?column?",
       coalesce(required_minutes(sp, EXISTS (SELECT 1 FROM licence_held h
                                              WHERE h.student_no = $1))::text, '?'),
       coalesce(pk.state || CASE WHEN pk.backfilled THEN ', back-filled' ELSE '' END, '-')
  FROM parts pt
  LEFT JOIN bp b ON b.part = pt.part
  LEFT JOIN progress p ON p.student_no = $1 AND p.part = pt.part
  LEFT JOIN part_total t ON t.student_no = $1 AND t.part = pt.part
  LEFT JOIN student s ON s.student_no = $1
  LEFT JOIN syllabus_part sp ON sp.vehicle_class = coalesce(p.vehicle_class, s.vehicle_class)
                            AND sp.part = pt.part
  LEFT JOIN push_packet pk ON pk.student_no = $1 AND pk.part = pt.part
 ORDER BY pt.part
