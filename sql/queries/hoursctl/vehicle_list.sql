-- vehicle_list.sql - hoursctl vehicle list [--school CODE] ($1: NULL,
-- every school): each vehicle with school, vehicle number, class, the
-- terminal bound to it now, and status.
-- columns: plate, code, coalesce (vehicle_no), vehicle_class,
--   coalesce (terminal), status
SELECT v.plate, s.code, coalesce(v.vehicle_no, '-'), v.vehicle_class,
       coalesce((SELECT string_agg(t.phone, ' ' ORDER BY t.phone) FROM terminal t
                  WHERE t.vehicle_id = v.id), '-'),
       v.status
  FROM vehicle v JOIN school s ON s.id = v.school_id
 WHERE $1::text IS NULL OR s.code = $1
 ORDER BY s.code, v.plate
