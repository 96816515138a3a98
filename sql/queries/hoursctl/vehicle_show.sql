-- vehicle_show.sql - hoursctl vehicle show PLATE ($1): the vehicle's facts.
-- columns: plate, code, vehicle_no, plate_color, frame_no, engine_no, make,
--   model, vehicle_class, bought_on, status, retired_at, created
SELECT v.plate, s.code, coalesce(v.vehicle_no, '') AS vehicle_no,
       coalesce(v.plate_color, '') AS plate_color, coalesce(v.frame_no, '') AS frame_no,
       coalesce(v.engine_no, '') AS engine_no, coalesce(v.make, '') AS make,
       coalesce(v.model, '') AS model, v.vehicle_class, coalesce(v.bought_on::text, '') AS bought_on,
       v.status, coalesce(local_time(v.retired_at), '') AS retired_at,
       local_time(v.created_at) AS created
  FROM vehicle v JOIN school s ON s.id = v.school_id
 WHERE v.plate = $1
