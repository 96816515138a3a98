-- hoursctl terminal list (no parameters).  Columns: number, status,
-- certificate not-after, certificate SHA-256 (hex), positions, school code
-- ('-': none), timing number ('-': none), records, records sent unsigned,
-- records whose signature failed, quirks (comma-separated, '' when none).
-- columns: phone, status, cert_not_after, encode (cert_sha256),
--   count (positions), coalesce (school_code), coalesce (terminal_no),
--   records, unsigned, bad_signature, concat_ws (quirks)
SELECT t.phone, status, cert_not_after, encode(cert_sha256, 'hex'),
       (SELECT count(*) FROM position p WHERE p.terminal_id = t.id),
       coalesce((SELECT code FROM school s WHERE s.id = t.school_id), '-'),
       coalesce(t.terminal_no, '-'), st.records, st.unsigned, st.bad_signature,
       concat_ws(',', CASE WHEN escaped_sums THEN 'escaped-sums' END,
                 CASE WHEN rsa_raw THEN 'rsa-raw' END)
  FROM terminal t
  JOIN terminal_signature_stats st ON st.terminal_id = t.id
 ORDER BY t.phone
