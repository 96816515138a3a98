-- hoursctl site list ($1 = school code, NULL: every school).  Counts from
-- the stored normalized form: coordinates[polygon][ring][position].
-- Columns: school code, site name, kind, polygons, points, updated.
-- columns: code, name, kind, coalesce (polygons), coalesce (points),
--   to_char (updated)
SELECT s.code, ts.name, ts.kind,
       coalesce(jsonb_array_length(ts.geojson->'coordinates'), 0),
       coalesce((SELECT sum(jsonb_array_length(ring) - 1)
                   FROM jsonb_array_elements(ts.geojson->'coordinates') poly,
                        jsonb_array_elements(poly) ring), 0),
       to_char(ts.updated_at, 'YYYY-MM-DD HH24:MI:SSOF')
  FROM training_site ts
  JOIN school s ON s.id = ts.school_id
 WHERE $1::text IS NULL OR s.code = $1
 ORDER BY s.code, ts.name
