-- backfill_facts.sql - what a back-fill form is checked against before it
-- is stored (hoursctl backfill import): $1 student, $2 part, $3 form
-- number, $4 the scan's SHA-256 (hex).  One row: enrolled, legacy,
-- pre-entered on, the student's school code and class, the syllabus's
-- most minutes per kind (vehicle, simulator, classroom, remote; NULL: no
-- limit) and the minutes the part requires of this student (NULL: no
-- such part), the minutes of the student's other forms of that part not
-- rejected, the form already imported (its entry: who, when), the scan
-- already imported (its form), the part's packet (id and state).
-- columns: ?column? (enrolled), coalesce (legacy), pre_entered_on, code,
--   vehicle_class, max_vehicle, max_simulator, max_classroom, max_remote,
--   required_minutes, coalesce (other_minutes), ?column? (form_entered),
--   form_no, ?column? (packet)
SELECT s.student_no IS NOT NULL, coalesce(s.legacy, false), s.pre_entered_on::text,
       sc.code, s.vehicle_class,
       sp.max_vehicle, sp.max_simulator, sp.max_classroom, sp.max_remote,
       required_minutes(sp, EXISTS (SELECT 1 FROM licence_held h WHERE h.student_no = $1)),
       (SELECT coalesce(sum(f.vehicle + f.simulator + f.classroom + f.remote), 0)
          FROM backfill_form f JOIN backfill_state st USING (form_no)
         WHERE f.student_no = $1 AND f.part = $2::smallint AND st.state <> 'rejected'),
       (SELECT f.entered_by || ', ' || local_minute(f.entered_at)
          FROM backfill_form f WHERE f.form_no = $3),
       (SELECT f.form_no FROM backfill_form f WHERE f.scan_sha256 = decode($4, 'hex')),
       (SELECT p.id::text || ' (' || p.state || ')' FROM push_packet p
         WHERE p.student_no = $1 AND p.part = $2::smallint)
  FROM (SELECT 1) one
  LEFT JOIN student s ON s.student_no = $1
  LEFT JOIN school sc ON sc.id = s.school_id
  LEFT JOIN syllabus_part sp ON sp.vehicle_class = s.vehicle_class AND sp.part = $2::smallint
