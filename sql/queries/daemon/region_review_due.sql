-- A training area's review due in $2 seconds ($1 = the item): after a
-- fetch that had no answer.
UPDATE upward_item SET review_due = now() + make_interval(secs => $2::float8)
 WHERE id = $1::bigint AND kind = 'region'
