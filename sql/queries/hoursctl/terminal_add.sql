-- hoursctl terminal add: a terminal, or a new certificate for a known one,
-- and the PKCS#12 handed out at its registration, in one statement.
-- $1 = terminal number (phone), $2 = TLS certificate PEM, $3 = its SHA-256
-- (hex), $4 = its not-after, $5 = auth code, $6-$8 = the signing
-- certificate's PEM, SHA-256 (hex) and not-after (NULL: none), $9 = timing
-- terminal number, $10 = IMEI, $11 = factory serial (NULL: keep the stored
-- one), $12 = PKCS#12 (hex; NULL: none), $13 = its password.
-- Columns: terminal id, added (false: updated).
-- columns: id, added
WITH t AS (
  INSERT INTO terminal (phone, cert_pem, cert_sha256, cert_not_after,
                        auth_code, sign_cert_pem, sign_cert_sha256, sign_cert_not_after,
                        terminal_no, imei, factory_serial)
  VALUES ($1, $2, decode($3, 'hex'), $4, $5, $6, decode($7, 'hex'), $8, $9, $10, $11)
  ON CONFLICT (phone) DO UPDATE SET
    cert_pem = EXCLUDED.cert_pem,
    cert_sha256 = EXCLUDED.cert_sha256,
    cert_not_after = EXCLUDED.cert_not_after,
    sign_cert_pem = EXCLUDED.sign_cert_pem,
    sign_cert_sha256 = EXCLUDED.sign_cert_sha256,
    sign_cert_not_after = EXCLUDED.sign_cert_not_after,
    terminal_no = coalesce(EXCLUDED.terminal_no, terminal.terminal_no),
    imei = coalesce(EXCLUDED.imei, terminal.imei),
    factory_serial = coalesce(EXCLUDED.factory_serial, terminal.factory_serial),
    updated_at = now()
  RETURNING id, (xmax = 0) AS added),
c AS (
  INSERT INTO terminal_credential (terminal_id, p12, password)
  SELECT id, decode($12, 'hex'), $13 FROM t WHERE $12 IS NOT NULL
  ON CONFLICT (terminal_id) DO UPDATE SET
    p12 = EXCLUDED.p12,
    password = EXCLUDED.password,
    created_at = now())
SELECT id, added FROM t
