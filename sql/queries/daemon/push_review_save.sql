-- The national platform's review of a packet's stage hours, as fetched
-- (GET /{stunum}-stagetrainningtimereview-{subject}): the last answer
-- replaces the one before.  $1 = packet id, $2 = errorcode, $3 = the
-- answer (cut at 4 KiB), $4 = data as JSON text (NULL: none): valid,
-- validtime, needfultime, pdfid, recarray; $5, $6 = the back-off's least
-- and most seconds.  A review is final with errorcode 0 and a valid; until
-- then the next fetch is due after min($6, $5 * 2^(fetches - 1)) seconds.
-- Column: whether it is final.
-- columns: final
WITH r AS (
  INSERT INTO push_review AS r (packet_id, errorcode, valid, validtime, needfultime, pdfid,
                                recarray, answer, final)
  SELECT $1::uuid, $2::int, (d ->> 'valid')::int, (d ->> 'validtime')::int,
         (d ->> 'needfultime')::int, d ->> 'pdfid', d -> 'recarray', $3,
         $2::int = 0 AND d ->> 'valid' IS NOT NULL
    FROM (SELECT CASE WHEN jsonb_typeof($4::jsonb) = 'object' THEN $4::jsonb END AS d) x
  ON CONFLICT (packet_id) DO UPDATE
     SET fetched_at = now(), errorcode = excluded.errorcode, valid = excluded.valid,
         validtime = excluded.validtime, needfultime = excluded.needfultime,
         pdfid = excluded.pdfid, recarray = excluded.recarray, answer = excluded.answer,
         final = excluded.final
  RETURNING r.final),
k AS (
  UPDATE push_packet p
     SET review_fetches = p.review_fetches + 1,
         review_due = CASE WHEN (SELECT final FROM r) THEN NULL
                           ELSE now() + make_interval(secs => least($6::float8,
                                  $5::float8 * power(2, least(p.review_fetches, 30))))
                      END
   WHERE p.id = $1::uuid)
SELECT final FROM r
