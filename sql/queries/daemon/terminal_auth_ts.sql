-- terminal_auth_ts.sql - a timing terminal's signed authentication
-- timestamp ($2) recorded if it is newer than the last one taken
-- ($1 = terminal id): one row when taken, none for a replay.  Atomic, so
-- it holds across hoursd instances.
-- columns: id
UPDATE terminal SET last_auth_ts = $2::bigint
 WHERE id = $1::bigint AND coalesce(last_auth_ts, -1) < $2::bigint
RETURNING id
