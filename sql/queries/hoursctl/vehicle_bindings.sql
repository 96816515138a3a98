-- vehicle_bindings.sql - hoursctl vehicle show: the terminals bound to a
-- vehicle ($1 plate), oldest first: the terminal, from, until (UTC+8;
-- '' still bound), by whom.
-- columns: phone, local_time (bound_at), coalesce (unbound_at), bound_by
SELECT t.phone, local_time(b.bound_at), coalesce(local_time(b.unbound_at), ''), b.bound_by
  FROM terminal_binding b JOIN terminal t ON t.id = b.terminal_id
  JOIN vehicle v ON v.id = b.vehicle_id
 WHERE v.plate = $1
 ORDER BY b.bound_at, t.phone
