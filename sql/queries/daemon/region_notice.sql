-- The platform's reviewmsg notice of a training area's review ($1 =
-- inscode, $2 = seq): its fetch due now.  Column: the items named (none:
-- no such training area sent from here).
-- columns: id
UPDATE upward_item SET review_due = now()
 WHERE kind = 'region' AND state = 'done'
   AND body::jsonb ->> 'inscode' = $1 AND body::jsonb ->> 'seq' = $2
RETURNING id
