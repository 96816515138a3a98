-- hoursctl report quarterly: what a school has under supervision ($1 the
-- school code; $2 from, $3 to, timestamptz): its coaches (registered, or
-- seen in its terminals' records of the period), its vehicles and its
-- training grounds.  Columns: kind (coach, vehicle, training_ground), the
-- coach number, plate or site name, and a detail.
-- columns: ?column? (kind), coach_no (id), concat_ws (detail)
SELECT 'coach', c.coach_no, concat_ws(' ', c.teach_class, c.status)
  FROM coach c JOIN school s ON s.id = c.school_id
 WHERE s.code = $1
UNION ALL
SELECT 'coach', r.coach_no, 'not registered; in ' || count(*) || ' records of the period'
  FROM training_record r JOIN terminal t ON t.id = r.terminal_id
  JOIN school s ON s.id = t.school_id
 WHERE s.code = $1 AND r.record_time >= $2::timestamptz AND r.record_time < $3::timestamptz
   AND NOT EXISTS (SELECT 1 FROM coach c WHERE c.coach_no = r.coach_no)
 GROUP BY r.coach_no
UNION ALL
SELECT 'vehicle', v.plate,
       v.vehicle_class || coalesce(' terminal ' || (SELECT string_agg(t.phone, ', ')
                                                     FROM terminal t
                                                    WHERE t.vehicle_id = v.id
                                                      AND t.status = 'active'),
                                   ', no terminal')
  FROM vehicle v JOIN school s ON s.id = v.school_id
 WHERE s.code = $1
UNION ALL
SELECT 'training_ground', ts.name, ts.kind
  FROM training_site ts JOIN school s ON s.id = ts.school_id
 WHERE s.code = $1
 ORDER BY 1, 2
