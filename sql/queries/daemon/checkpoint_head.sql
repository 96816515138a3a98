-- chain.c: the chain's head to sign (no parameters).  Columns: n, the
-- head hash in hex, the time it is signed at (Unix seconds), and whether
-- the newest checkpoint already has this n (nothing new to sign).
-- columns: n, encode (head), extract (signed_at), exists (signed)
SELECT h.n, encode(h.hash, 'hex'), extract(epoch FROM now())::bigint,
       EXISTS (SELECT 1 FROM audit_checkpoint c WHERE c.n = h.n)
  FROM audit_head h
