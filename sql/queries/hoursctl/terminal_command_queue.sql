-- hoursctl terminal fetch-records|photo|ban: queue a command for a
-- terminal ($1 = terminal number, $2 = kind, $3 = extension message id,
-- $4 = data (hex), $5 = seconds it may wait).  Columns: command id, expiry;
-- no row when there is no such terminal.
-- columns: id, expires_at
INSERT INTO terminal_command (terminal_id, kind, ext_id, data, expires_at)
SELECT id, $2, $3::int, decode($4, 'hex'), now() + make_interval(secs => $5::bigint)
  FROM terminal
 WHERE phone = $1
RETURNING id, expires_at
