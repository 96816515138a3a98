-- A training area's review as fetched (028): $1 = the item, $2 =
-- errorcode, $3 = the answer (cut at 4 KiB), $4 = data as JSON text
-- (NULL: none): flag (1 approved), reason; $5, $6 = the back-off's least
-- and most seconds.  Final with errorcode 0 and a flag; until then the
-- next fetch is due after min($6, $5 * 2^fetches) seconds.  Column:
-- whether it is final.
-- columns: review_final
UPDATE upward_item u
   SET review_fetches = u.review_fetches + 1, review_answer = $3,
       review_flag = (d ->> 'flag')::int, review_reason = d ->> 'reason',
       review_final = $2::int = 0 AND d ->> 'flag' IS NOT NULL,
       review_due = CASE WHEN $2::int = 0 AND d ->> 'flag' IS NOT NULL THEN NULL
                         ELSE now() + make_interval(secs => least($6::float8,
                                $5::float8 * power(2, least(u.review_fetches, 30))))
                    END
  FROM (SELECT CASE WHEN jsonb_typeof($4::jsonb) = 'object' THEN $4::jsonb END AS d) x
 WHERE u.id = $1::bigint
RETURNING u.review_final
