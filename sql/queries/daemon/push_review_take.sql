-- The pusher takes the stage reviews due ($1 = lease in seconds, $2 = how
-- many at most): the next fetch moved to the lease's end, so several
-- instances share them (SKIP LOCKED) and a fetch that never answered is
-- made again.
-- columns: id, student_no, part
UPDATE push_packet p SET review_due = now() + make_interval(secs => $1::int)
 WHERE p.id IN (SELECT id FROM push_packet
                 WHERE review_due <= now() AND state = 'done'
                 ORDER BY review_due LIMIT $2::int
                   FOR UPDATE SKIP LOCKED)
RETURNING p.id, p.student_no, p.part
