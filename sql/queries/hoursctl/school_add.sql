-- hoursctl school add: a school, or a new name for a known code ($1 = code,
-- $2 = name, $3 = its district, NULL: the stored one).  Columns: id, added
-- (false: renamed).
-- columns: id, ?column? (added)
INSERT INTO school (code, name, district) VALUES ($1, $2, $3)
ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name,
                                 district = coalesce(EXCLUDED.district, school.district)
RETURNING id, (xmax = 0)
