-- hoursctl audit verify: the next rows of the cursor evidence.c declared
-- over audit_frame_records.sql, audit_frame_events.sql or
-- audit_frame_photos.sql (their columns; a page of 4000 rows, fetched
-- while the one before is checked).
FETCH 4000 FROM audit_frames
