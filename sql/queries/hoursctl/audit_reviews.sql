-- hoursctl explain: the national platform's stage reviews of a student's
-- pushed parts ($1 = student number; push_review, 012 and 020), one row
-- per record a review refused (rnum and reason NULL when none).  Columns:
-- part, final or pending, errorcode, valid, validtime, needfultime ('-'
-- when absent), rnum, reason.
-- columns: part, case (status), errorcode, coalesce (valid), coalesce (validtime),
--   coalesce (needfultime), rnum, reason
SELECT p.part, CASE WHEN r.final THEN 'final' ELSE 'pending' END, r.errorcode,
       coalesce(r.valid::text, '-'), coalesce(r.validtime::text, '-'),
       coalesce(r.needfultime::text, '-'), e ->> 'rnum' AS rnum, e ->> 'reason' AS reason
  FROM push_packet p
  JOIN push_review r ON r.packet_id = p.id
  LEFT JOIN LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof(r.recarray) = 'array'
                                              THEN r.recarray ELSE '[]'::jsonb END) e ON true
 WHERE p.student_no = $1
 ORDER BY p.part, e ->> 'rnum'
