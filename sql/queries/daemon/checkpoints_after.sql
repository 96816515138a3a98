-- checkpoints_after.sql - GET /v1/checkpoints?after=N (src/readiness.c):
-- the log's checkpoints after k = $1, at most 1000, as witness lines
-- ("v2 k n head unix-time key-id signature", hoursctl audit verify
-- --witness reads them).
-- columns: line
SELECT format('v2 %s %s %s %s %s %s', k, n, encode(head, 'hex'),
              extract(epoch FROM signed_at)::bigint, encode(key_sha256, 'hex'),
              encode(signature, 'hex')) AS line
  FROM audit_log_checkpoint
 WHERE k > $1::bigint
 ORDER BY k
 LIMIT 1000
