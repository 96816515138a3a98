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
cb AS (
	SELECT c.*, ab.n AS batch
	  FROM c
	  LEFT JOIN LATERAL (SELECT a.n, a.hi FROM audit_batch a WHERE a.lo <= c.audit_xid
	                      ORDER BY a.lo DESC LIMIT 1) ab ON c.audit_xid < ab.hi),
b AS (
	SELECT DISTINCT a.n, a.lo, a.hi FROM cb JOIN audit_batch a ON a.n = cb.batch),
l AS (
	SELECT b.n, (x.key ->> 'terminal_id')::bigint AS terminal_id, x.key ->> 'record_no' AS record_no,
	       x.data
	  FROM b CROSS JOIN LATERAL audit_log_leaves(b.lo, b.hi, true) x
	 WHERE x.tbl = 'training_record')
SELECT c.terminal_id, c.record_no, encode(c.raw, 'hex') AS raw, c.batch,
       encode(l.data, 'hex') AS leaf
  FROM cb c
  LEFT JOIN l ON l.n = c.batch AND l.terminal_id = c.terminal_id AND l.record_no = c.record_no
 ORDER BY c.record_time, c.terminal_id, c.record_no
