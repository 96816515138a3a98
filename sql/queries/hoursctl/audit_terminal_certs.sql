-- hoursctl audit verify: every terminal (of school $1; NULL: every
-- school) with each certificate it has had (terminal_cert, 014), in the
-- order they came into force: what a stored frame is checked against.
-- since: when the certificate came into force (Unix seconds, rounded up;
-- NULL: from the start).  Columns: terminal id, number, timing terminal
-- number, rsa_raw, escaped_sums, since, the signing certificate (PEM)
-- and its digest (hex).
-- columns: id, phone, terminal_no, rsa_raw, escaped_sums, since, sign_cert_pem,
--   sign_cert_sha256
SELECT t.id, t.phone, coalesce(t.terminal_no, '') AS terminal_no, t.rsa_raw, t.escaped_sums,
       CASE WHEN c.since = '-infinity' THEN NULL
            ELSE ceil(extract(epoch FROM c.since))::bigint END AS since,
       coalesce(c.sign_cert_pem, c.cert_pem) AS sign_cert_pem,
       encode(coalesce(c.sign_cert_sha256, c.cert_sha256), 'hex') AS sign_cert_sha256
  FROM terminal t JOIN terminal_cert c ON c.terminal_id = t.id
 WHERE $1::bigint IS NULL OR t.school_id = $1::bigint
 ORDER BY t.id, c.since
