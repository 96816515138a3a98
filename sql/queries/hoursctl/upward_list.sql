-- hoursctl push upward: the master data sent upward (023), in the order
-- sent ($1 = state, NULL: every state).  Columns: item id, kind, method,
-- the number (the path's for a DELETE, else the one the answer assigned,
-- a teaching log's recnum,
-- '' before), state, attempts, the last errorcode ('' when none), last
-- error ('' when none), a training area's review (028; '' for the other
-- kinds).
-- columns: id, kind, method, coalesce (number), state, attempts,
--   coalesce (errorcode), coalesce (last_error), review
SELECT id, kind, method,
       coalesce(key, platform_no,
                CASE WHEN kind = 'classrecord' THEN classrecord_recnum(ref, lesson_at) END, ''),
       state, attempts,
       coalesce(errorcode::text, ''), coalesce(last_error, ''),
       CASE WHEN kind <> 'region' OR state <> 'done' THEN ''
            WHEN review_final AND review_flag = 1 THEN 'approved'
            WHEN review_final THEN 'refused: ' || coalesce(review_reason, '')
            ELSE format('pending (%s fetches)', review_fetches) END AS review
  FROM upward_item
 WHERE $1::text IS NULL OR state = $1
 ORDER BY id
