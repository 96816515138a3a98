-- hoursctl audit verify and checkpoints: every signed checkpoint of the
-- log (migration 015), by k (no parameters): k, the batch n it signed, its
-- head (hex), signed at (Unix seconds), key id (hex), signature (hex),
-- signed at (UTC, ISO 8601).
-- columns: k, n, head, signed_at, key_id, signature, signed_iso
SELECT k, n, encode(head, 'hex') AS head, extract(epoch FROM signed_at)::bigint AS signed_at,
       encode(key_sha256, 'hex') AS key_id, encode(signature, 'hex') AS signature,
       to_char(signed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS signed_iso
  FROM audit_log_checkpoint
 ORDER BY k
