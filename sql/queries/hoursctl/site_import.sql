-- hoursctl site import: a training site of a school, or a new outline for
-- a known one ($1 = school code, $2 = site name, $3 = kind, NULL: field
-- for a new site, unchanged for a replaced one, $4 = normalized GeoJSON).
-- Columns: id, imported (false: replaced), kind; no row when there is no
-- such school.
-- columns: id, ?column? (imported), kind
INSERT INTO training_site (school_id, name, kind, geojson, updated_at)
SELECT id, $2, coalesce($3, 'field'), $4::jsonb, now()
  FROM school
 WHERE code = $1
ON CONFLICT (school_id, name) DO UPDATE SET
  kind = coalesce($3, training_site.kind),
  geojson = EXCLUDED.geojson,
  updated_at = now()
RETURNING id, (xmax = 0), kind
