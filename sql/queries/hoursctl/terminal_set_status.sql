-- hoursctl terminal disable|enable: $1 = terminal number, $2 = the status
-- ('disabled' or 'active').
UPDATE terminal SET status = $2, updated_at = now() WHERE phone = $1
