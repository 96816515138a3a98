-- Take a waiting command to send it ($1 = command id, $2 = the extension
-- serial it goes out with): returns its id only to the one instance whose
-- update took it.
-- columns: id
UPDATE terminal_command
   SET sent_at = now(), ext_serial = $2::int
 WHERE id = $1::bigint AND sent_at IS NULL
RETURNING id
