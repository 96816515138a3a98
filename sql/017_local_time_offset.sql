-- 017_local_time_offset.sql - the time of a finding with its offset.
--
-- One time-zone rule for hoursctl (docs/audit.md, hoursctl(8)): every time
-- it prints carries its offset.  local_time() (010, 013) stays as it is for
-- the teaching log, whose format the national interface fixes; the
-- findings and the quarterly report print local_time_z(): the same China
-- time with "+08" after it, "2026-07-01 08:00:00+08".
CREATE FUNCTION local_time_z(t timestamptz) RETURNS text
	LANGUAGE sql STABLE PARALLEL SAFE
	AS $$ SELECT local_time(t) || '+08' $$;
