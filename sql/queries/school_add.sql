-- hoursctl school add: a school, or a new name for a known code ($1 = code,
-- $2 = name).  Columns: id, added (false: renamed).
INSERT INTO school (code, name) VALUES ($1, $2)
ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name
RETURNING id, (xmax = 0)
