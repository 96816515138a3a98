-- The state of a push packet ($1 = packet id); no row when there is none.
-- columns: state
SELECT state FROM push_packet WHERE id = $1::uuid
