-- hoursctl terminal quirk NUMBER escaped-sums on|off: accept the terminal's
-- length and check code computed over the escaped bytes ($1 = terminal
-- number, $2 = true or false).
UPDATE terminal SET escaped_sums = $2::boolean, updated_at = now()
 WHERE phone = $1
