-- student_held_clear.sql - no licence held after all ($1 student number):
-- the record removed.  A packet already made stays (the platform may have
-- it); returns the class that was recorded, if any.
-- columns: held_class
DELETE FROM licence_held WHERE student_no = $1 RETURNING held_class
