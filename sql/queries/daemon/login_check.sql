-- login_check.sql - the registry's checks of a login (docs/registry.md):
-- $1 the terminal's id, $2 the coach number, $3 the student number (''
-- for a coach login), $4 the login's time (seconds since the epoch), $5
-- whether the student trains in the vehicle (course mode 1).  One row:
-- the failed checks' reason names, comma-separated in a fixed order (''
-- none; rules.<name> decides refuse or flag), and, for a student login,
-- whether its time is inside a slot of the student with this coach and,
-- when the terminal is bound, this vehicle (rules.schedule).
--   coach login: coach_not_registered, coach_retired (or past the leave
--     date), coach_other_school (than the terminal's);
--   student login: coach_other_school (than the student's),
--     coach_class_not_allowed (the student's class is not one the coach
--     may teach); in the vehicle: terminal_not_bound,
--     vehicle_not_registered (the bound vehicle is retired),
--     vehicle_other_school, vehicle_other_class (than the student's).
-- columns: concat_ws (problems), case (inside)
SELECT concat_ws(',',
         CASE WHEN $3 = '' AND c.id IS NULL THEN 'coach_not_registered' END,
         CASE WHEN $3 = '' AND (c.status = 'retired' OR c.left_on < training_day(x.at))
              THEN 'coach_retired' END,
         CASE WHEN (($3 = '' AND c.school_id <> t.school_id)
                    OR ($3 <> '' AND c.school_id <> s.school_id))
              THEN 'coach_other_school' END,
         CASE WHEN $3 <> '' AND c.id IS NOT NULL AND s.id IS NOT NULL
                   AND NOT (s.vehicle_class = ANY (c.teach_classes))
              THEN 'coach_class_not_allowed' END,
         CASE WHEN $3 <> '' AND $5::boolean AND v.id IS NULL THEN 'terminal_not_bound' END,
         CASE WHEN $3 <> '' AND $5::boolean AND v.status = 'retired'
              THEN 'vehicle_not_registered' END,
         CASE WHEN $3 <> '' AND $5::boolean AND v.school_id <> coalesce(s.school_id, t.school_id)
              THEN 'vehicle_other_school' END,
         CASE WHEN $3 <> '' AND $5::boolean AND v.vehicle_class <> s.vehicle_class
              THEN 'vehicle_other_class' END),
       CASE WHEN $3 <> '' THEN
         EXISTS (SELECT 1 FROM schedule_slot sl
                  WHERE sl.student_no = $3 AND sl.starts_at <= x.at AND sl.ends_at > x.at
                    AND sl.coach_no = $2 AND (v.id IS NULL OR sl.plate = v.plate)) END
  FROM (SELECT to_timestamp($4::bigint) AS at) x
  JOIN terminal t ON t.id = $1::bigint
  LEFT JOIN vehicle v ON v.id = t.vehicle_id
  LEFT JOIN coach c ON c.coach_no = $2
  LEFT JOIN student s ON s.student_no = $3
