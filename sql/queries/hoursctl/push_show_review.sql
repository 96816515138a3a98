-- hoursctl push show: the national platform's stage review of the packet
-- ($1 = packet id; no row: none fetched), one row per record it refused
-- (rnum and reason NULL when none).  Columns: final or pending, the last
-- answer's errorcode, valid, validtime, needfultime, pdfid ('-' when
-- absent), fetched at, fetches, next fetch ('-': none), rnum, reason.
-- columns: case (status), errorcode, coalesce (valid), coalesce (validtime),
--   coalesce (needfultime), coalesce (pdfid), to_char (fetched), review_fetches,
--   coalesce (due), rnum, reason
SELECT CASE WHEN r.final THEN 'final' ELSE 'pending' END, r.errorcode,
       coalesce(r.valid::text, '-'), coalesce(r.validtime::text, '-'),
       coalesce(r.needfultime::text, '-'), coalesce(r.pdfid, '-'),
       to_char(r.fetched_at, 'YYYY-MM-DD HH24:MI:SSOF'), p.review_fetches,
       coalesce(to_char(p.review_due, 'YYYY-MM-DD HH24:MI:SSOF'), '-'),
       e ->> 'rnum' AS rnum, e ->> 'reason' AS reason
  FROM push_review r
  JOIN push_packet p ON p.id = r.packet_id
  LEFT JOIN LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof(r.recarray) = 'array'
                                              THEN r.recarray ELSE '[]'::jsonb END) e ON true
 WHERE r.packet_id = $1::uuid
