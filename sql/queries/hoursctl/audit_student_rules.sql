-- hoursctl explain: the rules beyond a part's minutes, for a student ($1):
-- the licence held (adding a class) with the parts it lowers, and the
-- practice parts' mileage against the part it gates.  One row.  Columns:
-- held class ('' when none), when it was noted, the lowered parts as
-- "part 1 240 min, part 4 360 min" ('' when none), the practice mileage
-- (km), the gate (km, '' when none) and the part it gates.
-- columns: coalesce (held_class), coalesce (noted_at), coalesce (lowered),
--   round (practice_km), coalesce (gate_km), coalesce (gated_part)
WITH h AS (SELECT * FROM licence_held WHERE student_no = $1),
p AS (SELECT * FROM progress WHERE student_no = $1),
sp AS (SELECT sp.* FROM syllabus_part sp
        WHERE sp.vehicle_class = (SELECT min(vehicle_class) FROM p))
SELECT coalesce((SELECT held_class FROM h), ''),
       coalesce((SELECT local_minute(noted_at) FROM h), ''),
       coalesce((SELECT string_agg(format('part %s %s min', part, adding_required_minutes),
                                   ', ' ORDER BY part)
                   FROM sp WHERE adding_required_minutes IS NOT NULL), ''),
       round(coalesce((SELECT sum(mileage_dkm) FROM p WHERE cap_group(part) = 'practice'), 0) / 10.0, 1),
       coalesce((SELECT (gate_mileage_dkm / 10)::text FROM sp
                  WHERE gate_mileage_dkm IS NOT NULL ORDER BY part LIMIT 1), ''),
       coalesce((SELECT part::text FROM sp
                  WHERE gate_mileage_dkm IS NOT NULL ORDER BY part LIMIT 1), '')
