-- hoursctl, once connected: the one time-zone rule of every command.  A
-- time written without a zone ('2026-12-08 08:00') is China Standard Time,
-- whatever the server's or the client's (PGTZ) zone; every time printed
-- carries its offset (+08).
SET TimeZone = 'Asia/Shanghai'
