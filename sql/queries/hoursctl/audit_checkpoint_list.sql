-- hoursctl audit checkpoints and verify: every signed checkpoint, in
-- order (no parameters).  Columns: n, head (hex), signed at (Unix
-- seconds), key id (hex), signature (hex), signed at (UTC, ISO 8601).
-- columns: n, encode (head), extract (signed_at), encode (key_id),
--   encode (signature), to_char (signed_iso)
SELECT n, encode(head, 'hex'), extract(epoch FROM signed_at)::bigint,
       encode(key_sha256, 'hex'), encode(signature, 'hex'),
       to_char(signed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
  FROM audit_checkpoint
 ORDER BY n
