-- hoursctl audit verify: the end of the frames' read-only transaction
-- (audit_frames_begin.sql).
COMMIT
