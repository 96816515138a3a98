-- hoursctl findings --school: whether the school code ($1) is known.
SELECT 1 FROM school WHERE code = $1
