-- A terminal's answer to a command it was sent ($1 = terminal id, $2 = the
-- extension serial the command went out with, $3 = the command's extension
-- message id, $4 = result): the first answer's time is kept, the result is
-- the last one (0x0205 comes twice).  Returns the command's id, none when
-- no such command was sent.
-- columns: id
UPDATE terminal_command
   SET answered_at = coalesce(answered_at, now()),
       result = $4::smallint
 WHERE terminal_id = $1::bigint AND ext_serial = $2::int
   AND ext_id = $3::int AND sent_at IS NOT NULL
RETURNING id
