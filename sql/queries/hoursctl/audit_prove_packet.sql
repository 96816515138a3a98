-- hoursctl audit prove: the packet of student $1's part $2 as it was
-- pushed (its body, once built): its id and body, the batch of the log
-- that holds its body's row (push_body_logged, migration 024; NULL: not
-- logged yet) and that row's leaf data there (hex).
-- columns: id, body, batch, leaf
SELECT p.id::text AS id, p.body, b.n AS batch, encode(x.data, 'hex') AS leaf
  FROM push_packet p
  LEFT JOIN push_body_logged l
         ON l.packet_id = p.id AND l.body_sha256 = sha256(convert_to(p.body, 'UTF8'))
  LEFT JOIN LATERAL (SELECT a.n, a.lo, a.hi FROM audit_batch a WHERE a.lo <= l.audit_xid
                      ORDER BY a.lo DESC LIMIT 1) b ON l.audit_xid < b.hi
  LEFT JOIN LATERAL (SELECT y.data FROM audit_log_leaves(b.lo, b.hi, true) y
                      WHERE y.tbl = 'push_body_logged' AND y.key ->> 'packet_id' = p.id::text
                        AND substring(y.data FROM length(y.data) - 31) = l.body_sha256) x
         ON true
 WHERE p.student_no = $1 AND p.part = $2::smallint AND p.body IS NOT NULL
