-- checkpoint_head.sql - chain.c: the newest checkpoint of the log (k, the
-- batch n it signed, its head in hex; k 0, n 0 and the old chain's head
-- when there is none), the log head's batch number and the time it is
-- signed at (Unix seconds).  No parameters.
-- columns: k, n, head, log_n, signed_at
SELECT coalesce(c.k, 0) AS k, coalesce(c.n, 0) AS n,
       encode(coalesce(c.head, (SELECT hash FROM audit_head)), 'hex') AS head,
       (SELECT n FROM audit_log_head) AS log_n, extract(epoch FROM now())::bigint AS signed_at
  FROM (SELECT 1) one
  LEFT JOIN LATERAL (SELECT k, n, head FROM audit_log_checkpoint ORDER BY k DESC LIMIT 1) c
    ON true
