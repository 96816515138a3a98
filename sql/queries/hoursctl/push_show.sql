-- hoursctl push show: one packet ($1 = packet id).  Columns: student,
-- part, vehicle class, state, attempts, created, next attempt, done ('-'),
-- re-driven ('-'), last error ('-'), body ('(not built yet)').
-- columns: student_no, part, vehicle_class, state, attempts,
--   to_char (created), to_char (next_attempt), coalesce (done),
--   coalesce (redriven), coalesce (last_error), coalesce (body)
SELECT student_no, part, vehicle_class, state, attempts,
       to_char(created_at, 'YYYY-MM-DD HH24:MI:SSOF'),
       to_char(next_attempt, 'YYYY-MM-DD HH24:MI:SSOF'),
       coalesce(to_char(done_at, 'YYYY-MM-DD HH24:MI:SSOF'), '-'),
       coalesce(to_char(redriven_at, 'YYYY-MM-DD HH24:MI:SSOF'), '-'),
       coalesce(last_error, '-'), coalesce(body, '(not built yet)')
  FROM push_packet
 WHERE id = $1::uuid
