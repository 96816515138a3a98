-- The training areas' reviews due (028; $1 = lease in seconds, $2 = how
-- many at most): the next fetch moved to the lease's end, so several
-- instances share them and a fetch that never answered is made again.
-- Columns: the item, and the inscode and seq of its /region body.
-- columns: id, inscode, seq
UPDATE upward_item u SET review_due = now() + make_interval(secs => $1::int)
 WHERE u.id IN (SELECT id FROM upward_item
                 WHERE review_due <= now() AND kind = 'region' AND state = 'done'
                 ORDER BY review_due LIMIT $2::int
                   FOR UPDATE SKIP LOCKED)
RETURNING u.id, u.body::jsonb ->> 'inscode' AS inscode, u.body::jsonb ->> 'seq' AS seq
