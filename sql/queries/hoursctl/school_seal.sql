-- hoursctl school seal: the school's electronic seal (school_seal, 020),
-- replacing the one before.  $1 = school code, $2 = certificate (PEM),
-- $3 = key (PKCS#8 PEM), $4 = serial (upper-case hex, no padding), $5 =
-- the certificate's notAfter (Unix seconds).  No row: no such school.
-- columns: serial, to_char (not_after)
INSERT INTO school_seal AS s (school_id, cert_pem, key_pem, serial, not_after)
SELECT id, $2, $3, $4, to_timestamp($5::bigint) FROM school WHERE code = $1
ON CONFLICT (school_id) DO UPDATE
   SET cert_pem = excluded.cert_pem, key_pem = excluded.key_pem, serial = excluded.serial,
       not_after = excluded.not_after, sealed_at = now()
RETURNING s.serial, to_char(s.not_after AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI"Z"')
