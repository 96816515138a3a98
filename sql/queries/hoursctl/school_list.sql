-- hoursctl school list (no parameters).  Columns: code, name, sites,
-- terminals, district ('' when none).
-- columns: code, name, count (sites), count (terminals), coalesce (district)
SELECT code, name,
       (SELECT count(*) FROM training_site ts WHERE ts.school_id = s.id),
       (SELECT count(*) FROM terminal t WHERE t.school_id = s.id),
       coalesce(district, '')
  FROM school s
 ORDER BY code
