-- hoursctl push retry: a failed packet ($1 = packet id) back to pending,
-- due now, with its id and body; its maximum age and its backoff start
-- again, and the re-drive is written into last_error.  Columns: student,
-- part; no row when the packet is not failed.
-- columns: student_no, part
UPDATE push_packet
   SET state = 'pending', next_attempt = now(),
       redriven_at = now(), redrive_attempts = attempts,
       last_error = 're-driven by hoursctl at ' ||
                    to_char(now(), 'YYYY-MM-DD HH24:MI:SSOF') || ' after: ' ||
                    coalesce(last_error, '?')
 WHERE id = $1::uuid AND state = 'failed'
RETURNING student_no, part
