-- checkpoint_save.sql - chain.c: a signed checkpoint of the log ($1 k, $2
-- the batch n, $3 head hex, $4 signed at, Unix seconds, $5 key id: SHA-256
-- of the public key, hex, $6 signature, hex).  Another instance may have
-- signed the same k: the first one stays.
INSERT INTO audit_log_checkpoint (k, n, head, signed_at, key_sha256, signature)
VALUES ($1::bigint, $2::bigint, decode($3, 'hex'), to_timestamp($4::bigint), decode($5, 'hex'),
        decode($6, 'hex'))
ON CONFLICT (k) DO NOTHING
