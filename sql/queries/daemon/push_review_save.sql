-- The national platform's review of a packet's stage hours, as fetched
-- (GET /{stunum}-stagetrainningtimereview-{subject}) after the packet was
-- accepted: the last answer replaces the one before.  $1 = packet id, $2 =
-- errorcode, $3 = the answer (cut at 4 KiB), $4 = data as JSON text (NULL:
-- none): valid, validtime, needfultime, pdfid, recarray.
INSERT INTO push_review AS r (packet_id, errorcode, valid, validtime, needfultime, pdfid,
                              recarray, answer)
SELECT $1::uuid, $2::int, (d ->> 'valid')::int, (d ->> 'validtime')::int,
       (d ->> 'needfultime')::int, d ->> 'pdfid', d -> 'recarray', $3
  FROM (SELECT CASE WHEN jsonb_typeof($4::jsonb) = 'object' THEN $4::jsonb END AS d) x
ON CONFLICT (packet_id) DO UPDATE
   SET fetched_at = now(), errorcode = excluded.errorcode, valid = excluded.valid,
       validtime = excluded.validtime, needfultime = excluded.needfultime,
       pdfid = excluded.pdfid, recarray = excluded.recarray, answer = excluded.answer
