-- site_load.sql - the training sites' polygons hoursd checks minutes
-- against (kind field, with a polygon).  Columns: school id, name, GeoJSON.
-- columns: school_id, name, geojson
SELECT school_id, name, geojson::text FROM training_site
 WHERE kind = 'field' AND geojson IS NOT NULL
 ORDER BY school_id, name
