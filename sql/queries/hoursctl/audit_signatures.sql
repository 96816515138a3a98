-- hoursctl audit verify: the training records whose signatures are
-- checked again, with what checks them: a page of at most $6 after the
-- key ($4 terminal id, $5 record number; NULL: from the start), in the
-- time range $1-$2 (record_time; NULL: open) and school $3 (NULL: all).
-- Columns: terminal id, record number, terminal number, raw (hex), the
-- stored raw digest (hex), the signing certificate (PEM) and its digest
-- (hex), rsa_raw, escaped_sums, signed, ingest's verdict, its reason,
-- received at (Unix seconds).
-- columns: terminal_id, record_no, phone, encode (raw), encode (raw_sha256),
--   coalesce (cert_pem), encode (cert_sha256), rsa_raw, escaped_sums,
--   signed, verdict, coalesce (reason), extract (received_at)
SELECT r.terminal_id, r.record_no, t.phone, encode(r.raw, 'hex'), encode(r.raw_sha256, 'hex'),
       coalesce(t.sign_cert_pem, t.cert_pem),
       encode(coalesce(t.sign_cert_sha256, t.cert_sha256), 'hex'),
       t.rsa_raw, t.escaped_sums, r.signed, r.verdict, coalesce(r.reason, ''),
       extract(epoch FROM r.received_at)::bigint
  FROM training_record r JOIN terminal t ON t.id = r.terminal_id
 WHERE ($1::timestamptz IS NULL OR r.record_time >= $1::timestamptz)
   AND ($2::timestamptz IS NULL OR r.record_time < $2::timestamptz)
   AND ($3::bigint IS NULL OR t.school_id = $3::bigint)
   AND ($4::bigint IS NULL OR (r.terminal_id, r.record_no) > ($4::bigint, $5::text))
 ORDER BY r.terminal_id, r.record_no
 LIMIT $6::int
