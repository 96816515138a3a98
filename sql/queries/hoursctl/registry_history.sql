-- registry_history.sql - hoursctl coach|vehicle show: the changes of one
-- coach or vehicle ($1 'coach' or 'vehicle', $2 its number or plate),
-- oldest first: when (UTC+8), what, the school after it, by whom.
-- columns: local_time (at), what, code, by_name
SELECT local_time(h.at), h.what, s.code, h.by_name
  FROM registry_change h JOIN school s ON s.id = h.school_id
 WHERE h.kind = $1 AND h.key = $2
 ORDER BY h.at, h.id
