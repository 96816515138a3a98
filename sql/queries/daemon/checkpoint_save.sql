-- chain.c: a signed checkpoint ($1 n, $2 head hex, $3 signed at, Unix
-- seconds, $4 key id: SHA-256 of the public key, hex, $5 signature, hex).
-- Another instance may have signed the same n: the first one stays.
INSERT INTO audit_checkpoint (n, head, signed_at, key_sha256, signature)
VALUES ($1::bigint, decode($2, 'hex'), to_timestamp($3::bigint), decode($4, 'hex'),
        decode($5, 'hex'))
ON CONFLICT (n) DO NOTHING
