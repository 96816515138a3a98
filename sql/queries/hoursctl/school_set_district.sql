-- hoursctl school set-district: a school's district ($1 code, $2 district,
-- NULL: none).  Columns: id; no row: no such school.
-- columns: id
UPDATE school SET district = $2 WHERE code = $1 RETURNING id
