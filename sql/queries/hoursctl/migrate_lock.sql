-- hoursctl migrate: one migrator at a time, whatever the number of hosts
-- (a session advisory lock, released when hoursctl disconnects).
-- columns: pg_advisory_lock
SELECT pg_advisory_lock(80808)
