-- hoursctl push list: the push outbox, oldest first ($1 = state, NULL:
-- every state).  Columns: packet id, student, part, state, attempts, next
-- attempt ('-' unless pending or sending), last error ('' when none).
-- columns: id, student_no, part, state, attempts, case (next_attempt),
--   coalesce (last_error)
SELECT id, student_no, part, state, attempts,
       CASE WHEN state IN ('pending', 'sending')
            THEN to_char(next_attempt, 'YYYY-MM-DD HH24:MI:SSOF') ELSE '-' END,
       coalesce(last_error, '')
  FROM push_packet
 WHERE $1::text IS NULL OR state = $1
 ORDER BY created_at, id
