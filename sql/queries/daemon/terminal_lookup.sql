-- terminal_lookup.sql - a terminal by its normalized phone number ($1),
-- and its lesson as the last accepted logins and logouts left it, so
-- that a reconnecting terminal or a restarted hoursd goes on.  Columns as
-- src/ingest.c's terminal_from_row reads them, by name.
-- columns: id, active, auth_code, terminal_no, cert_sha256, cert_not_after,
--   sign_cert_pem, sign_cert_sha256, coach_no, coach_login, student_no,
--   student_coach_no, student_class_id, student_login, last_record,
--   school_id, vehicle_class, imei, factory_serial, escaped_sums, rsa_raw
SELECT t.id, t.status = 'active' AS active, t.auth_code,
       coalesce(t.terminal_no, '') AS terminal_no,
       encode(t.cert_sha256, 'hex') AS cert_sha256,
       extract(epoch FROM t.cert_not_after)::bigint AS cert_not_after,
       coalesce(t.sign_cert_pem, t.cert_pem) AS sign_cert_pem,
       encode(coalesce(t.sign_cert_sha256, t.cert_sha256), 'hex') AS sign_cert_sha256,
       c.person_no AS coach_no, extract(epoch FROM c.event_time)::bigint AS coach_login,
       s.person_no AS student_no, s.coach_no AS student_coach_no,
       s.class_id AS student_class_id, extract(epoch FROM s.event_time)::bigint AS student_login,
       (SELECT extract(epoch FROM max(r.record_time))::bigint FROM training_record r
         WHERE r.terminal_id = t.id AND r.session_login_at = s.event_time
           AND r.verdict = 'accepted') AS last_record,
       coalesce(t.school_id, 0) AS school_id, coalesce(v.vehicle_class, '') AS vehicle_class,
       coalesce(t.imei, '') AS imei, coalesce(t.factory_serial, '') AS factory_serial,
       t.escaped_sums, t.rsa_raw
  FROM terminal t LEFT JOIN vehicle v ON v.id = t.vehicle_id
  LEFT JOIN LATERAL (
       SELECT kind, person_no, event_time FROM session_event e
        WHERE e.terminal_id = t.id AND e.kind IN ('coach_login', 'coach_logout')
          AND e.verdict = 'accepted'
        ORDER BY event_time DESC, kind = 'coach_logout' DESC LIMIT 1) c
    ON c.kind = 'coach_login'
  LEFT JOIN LATERAL (
       SELECT kind, person_no, coach_no, class_id, event_time FROM session_event e
        WHERE e.terminal_id = t.id AND e.kind IN ('student_login', 'student_logout')
          AND e.verdict = 'accepted'
        ORDER BY event_time DESC, kind = 'student_logout' DESC LIMIT 1) s
    ON s.kind = 'student_login'
 WHERE t.phone = $1
