-- terminal_credential.sql - what a timing terminal's registration answer
-- (0x8100) hands it ($1 = terminal id): its PKCS#12 in base64 (one line),
-- the PKCS#12's password, and the school's code as the institution number.
-- columns: translate (p12), coalesce (password), coalesce (school_code)
SELECT translate(encode(c.p12, 'base64'), E'\n', ''), coalesce(c.password, ''),
       coalesce(s.code, '')
  FROM terminal t
  LEFT JOIN terminal_credential c ON c.terminal_id = t.id
  LEFT JOIN school s ON s.id = t.school_id
 WHERE t.id = $1::bigint
