-- hoursctl audit prove: the first signed checkpoint of the log whose tree
-- head is at batch $1 or later: k, n, head (hex), signed at (Unix
-- seconds), key id (hex), signature (hex).
-- columns: k, n, head, signed_at, key_id, signature
SELECT k, n, encode(head, 'hex') AS head, extract(epoch FROM signed_at)::bigint AS signed_at,
       encode(key_sha256, 'hex') AS key_id, encode(signature, 'hex') AS signature
  FROM audit_log_checkpoint
 WHERE n >= $1::bigint
 ORDER BY k
 LIMIT 1
