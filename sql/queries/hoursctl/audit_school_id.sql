-- hoursctl: a school's id by its code ($1).  No row: no such school.
-- columns: id
SELECT id FROM school WHERE code = $1
