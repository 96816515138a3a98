-- The stage review of a packet due in $2 seconds ($1 = packet id): when
-- the packet is accepted (0), or after a fetch that had no answer.
UPDATE push_packet SET review_due = now() + make_interval(secs => $2::float8)
 WHERE id = $1::uuid AND state = 'done'
