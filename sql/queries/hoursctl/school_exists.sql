-- hoursctl findings --school: whether the school code ($1) is known.
-- columns: ?column? (known)
SELECT 1 FROM school WHERE code = $1
