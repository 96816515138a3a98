-- hoursctl audit verify: the log's state (no parameters): the old chain's
-- head (hex; the log's batch 1 links on it), the log head's batch n, hash
-- (hex) and hi, the transaction where the log starts, and the rows in no
-- batch: stored before the log started without being in the old chain's
-- era (audit_xid below start), counted.
-- columns: chain_head, n, hash, hi, start, strays
SELECT encode(c.hash, 'hex') AS chain_head, h.n, encode(h.hash, 'hex') AS hash, h.hi, h.start,
       (SELECT count(*) FROM audit_log_leaves(-9223372036854775807, h.start, false)) AS strays
  FROM audit_log_head h, audit_head c
