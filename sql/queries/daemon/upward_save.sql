-- An upward item's body, kept before it is first sent ($1 = id, $2 =
-- body, $3 = attempt); coalesce keeps a body written before, and the
-- attempt and the state guard the lease.  Column: the body to send; no
-- row when the lease passed to another attempt.
-- columns: body
UPDATE upward_item SET body = coalesce(body, $2)
 WHERE id = $1::bigint AND attempts = $3::int AND state = 'sending'
RETURNING body
