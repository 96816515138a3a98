-- syllabus_publish.sql - the syllabus hoursd loaded (conf/syllabus.yaml)
-- into syllabus_part, which the judge, the push and auditors read: every
-- part inserted or updated, parts no longer in the file removed.
--   $1 jsonb: [{"vc": class, "pa": part, "rq": required minutes,
--              "mv"/"ms"/"mc"/"mr": most vehicle/simulator/classroom/remote
--              minutes (null: no limit), "os": on site, "sp": speed limit
--              0.1 km/h, "dc": daily cap minutes, "ad": minutes required of a
--              student adding a class (null: none), "mg": the practice parts'
--              mileage the part waits for, 0.1 km (null: none), "cf": the
--              class's figures confirmed}, ...]
--   $2 text: the document the figures come from
WITH x AS (
  SELECT * FROM jsonb_to_recordset($1::jsonb)
    AS x(vc text, pa int, rq int, mv int, ms int, mc int, mr int, os bool, sp int, dc int,
         ad int, mg bigint, cf bool)),
gone AS (
  DELETE FROM syllabus_part s
   WHERE NOT EXISTS (SELECT 1 FROM x WHERE x.vc = s.vehicle_class AND x.pa = s.part))
INSERT INTO syllabus_part (vehicle_class, part, required_minutes, max_vehicle, max_simulator,
                           max_classroom, max_remote, on_site, max_speed_dkmh,
                           daily_cap_minutes, adding_required_minutes, gate_mileage_dkm,
                           syllabus, confirmed)
SELECT vc, pa, rq, mv, ms, mc, mr, os, sp, dc, ad, mg, $2, cf FROM x
ON CONFLICT (vehicle_class, part) DO UPDATE
SET required_minutes = EXCLUDED.required_minutes, max_vehicle = EXCLUDED.max_vehicle,
    max_simulator = EXCLUDED.max_simulator, max_classroom = EXCLUDED.max_classroom,
    max_remote = EXCLUDED.max_remote, on_site = EXCLUDED.on_site,
    max_speed_dkmh = EXCLUDED.max_speed_dkmh, daily_cap_minutes = EXCLUDED.daily_cap_minutes,
    adding_required_minutes = EXCLUDED.adding_required_minutes,
    gate_mileage_dkm = EXCLUDED.gate_mileage_dkm, confirmed = EXCLUDED.confirmed,
    syllabus = EXCLUDED.syllabus, loaded_at = now()
