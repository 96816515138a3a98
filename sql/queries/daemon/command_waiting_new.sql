-- The commands queued in the last minute and not sent yet, for terminals
-- already authenticated somewhere (polled once a second; no parameters).
-- Columns as command_waiting_for.
-- columns: id, terminal_id, ext_id, data
SELECT id, terminal_id, ext_id, data
  FROM terminal_command
 WHERE sent_at IS NULL AND expires_at > now()
   AND created_at > now() - interval '1 minute'
 ORDER BY id
 LIMIT 1000
