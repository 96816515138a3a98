-- hoursctl terminal commands: the commands queued, sent and answered ($1 =
-- terminal number, NULL: every terminal).  Columns: id, terminal number,
-- kind, state, queued, sent ('-': not yet), result ('-': none), expiry.
-- columns: id, phone, kind, state, created_at, coalesce (sent_at),
--   coalesce (result), expires_at
SELECT id, phone, kind, state, created_at, coalesce(sent_at::text, '-'),
       coalesce(result::text, '-'), expires_at
  FROM terminal_command_state
 WHERE $1::text IS NULL OR phone = $1
 ORDER BY id
