-- hoursctl terminal quirk NUMBER rsa-raw on|off: accept the terminal's
-- unpadded RSA signatures ($1 = terminal number, $2 = true or false).
UPDATE terminal SET rsa_raw = $2::boolean, updated_at = now()
 WHERE phone = $1
