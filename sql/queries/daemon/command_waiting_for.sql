-- The commands waiting for one terminal ($1 = terminal id), looked for when
-- it authenticates: not sent yet, not expired, oldest first.  Columns: id,
-- terminal id, extension message id, data (bytea).
-- columns: id, terminal_id, ext_id, data
SELECT id, terminal_id, ext_id, data
  FROM terminal_command
 WHERE sent_at IS NULL AND expires_at > now()
   AND terminal_id = $1::bigint
 ORDER BY id
