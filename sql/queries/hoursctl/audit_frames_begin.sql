-- hoursctl audit verify: the frames' checks (evidence.c) read one
-- snapshot, through a cursor (audit_frames_fetch.sql), in a transaction
-- that changes nothing; audit_frames_end.sql ends it.
BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY
