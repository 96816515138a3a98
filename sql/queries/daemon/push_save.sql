-- The body built for a packet's first attempt, kept with the packet before
-- it is sent, so that every attempt, in any instance, sends the same bytes
-- ($1 = packet id, $2 = body, $3 = attempt).  coalesce keeps a body written
-- before; the attempt and the state guard the lease.  Column: the body to
-- send; no row when the lease passed to another attempt.
-- columns: body
UPDATE push_packet SET body = coalesce(body, $2),
       profile = CASE WHEN body IS NULL THEN 'hoursd' ELSE profile END
 WHERE id = $1::uuid AND attempts = $3::int AND state = 'sending'
RETURNING body
