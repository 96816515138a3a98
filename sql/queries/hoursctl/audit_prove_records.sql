-- hoursctl audit prove: the records counted in student $1's part $2 (the
-- ones the packet's records_sha256 covers: accepted), oldest first, each
-- with its raw frame (hex), the batch of the log that holds its row
-- (NULL: not logged yet, or stored before the log) and its leaf's data
-- there (hex; audit_log_leaves of migration 015, each batch's leaves
-- computed once).
-- columns: terminal_id, record_no, raw, batch, leaf
WITH c AS (
	SELECT t.terminal_id, t.record_no, t.raw, t.audit_xid, v.record_time
	  FROM record_verdict v
	  JOIN training_record t USING (terminal_id, record_no)
	 WHERE v.student_no = $1 AND v.part = $2::smallint AND v.verdict = 'accepted'),
b AS (
	SELECT DISTINCT ab.n, ab.lo, ab.hi
	  FROM c JOIN audit_batch ab ON c.audit_xid >= ab.lo AND c.audit_xid < ab.hi),
l AS (
	SELECT b.n, (x.key ->> 'terminal_id')::bigint AS terminal_id, x.key ->> 'record_no' AS record_no,
	       x.data
	  FROM b CROSS JOIN LATERAL audit_log_leaves(b.lo, b.hi, true) x
	 WHERE x.tbl = 'training_record')
SELECT c.terminal_id, c.record_no, encode(c.raw, 'hex') AS raw, b.n AS batch,
       encode(l.data, 'hex') AS leaf
  FROM c
  LEFT JOIN b ON c.audit_xid >= b.lo AND c.audit_xid < b.hi
  LEFT JOIN l ON l.n = b.n AND l.terminal_id = c.terminal_id AND l.record_no = c.record_no
 ORDER BY c.record_time, c.terminal_id, c.record_no
