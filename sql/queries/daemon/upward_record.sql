-- An upward item's attempt is over ($1 = id, $2 = attempt, $3 = done,
-- failed or retry, $4 = seconds to the next attempt, $5 = the answer
-- (NULL: none), $6 = its errorcode (NULL: none), $7 = the error (NULL:
-- none), $8 = the number the answer assigned (NULL: none)), guarded by
-- the attempt number.  Columns: the item's state and last error; no row
-- when the lease had passed.
-- columns: state, last_error
UPDATE upward_item SET
  state = CASE WHEN $3 = 'retry' THEN 'pending' ELSE $3 END,
  next_attempt = CASE WHEN $3 = 'retry' THEN now() + make_interval(secs => $4::float8)
                      ELSE next_attempt END,
  done_at = CASE WHEN $3 = 'done' THEN now() END,
  answer = $5, errorcode = $6::int,
  failed_1 = failed_1 + CASE WHEN $6::int = 1 THEN 1 ELSE 0 END,
  platform_no = coalesce($8, platform_no),
  -- a training area accepted: its review is fetched (028)
  review_due = CASE WHEN $3 = 'done' AND kind = 'region' THEN now() ELSE review_due END,
  last_error = CASE WHEN $3 = 'done' THEN NULL ELSE $7 END
 WHERE id = $1::bigint AND attempts = $2::int AND state = 'sending'
RETURNING state, last_error
