-- hoursctl audit verify: the chain's head row and the rows still queued
-- for the chain stage (no parameters).  Columns: n, hash (hex), queued.
-- columns: n, encode (hash), count (queued)
SELECT h.n, encode(h.hash, 'hex'), (SELECT count(*) FROM audit_pending)
  FROM audit_head h
