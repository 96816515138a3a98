-- terminal_lookup.sql - a terminal by its normalized phone number ($1),
-- and its lesson as the last accepted logins and logouts left it, so
-- that a reconnecting terminal or a restarted hoursd goes on.  Columns as
-- src/ingest.c's terminal_from_row reads them, by name.  The signing
-- certificate in force before the current one (terminal_cert, 014; ""
-- when none) and when the current one came into force (Unix seconds,
-- rounded up; 0: from the start): what a message signed before then is
-- checked with.
-- columns: id, active, auth_code, terminal_no, cert_sha256, cert_not_after,
--   sign_cert_pem, sign_cert_sha256, coach_no, coach_login, student_no,
--   student_coach_no, student_class_id, student_login, last_record,
--   school_id, vehicle_class, imei, factory_serial, escaped_sums, rsa_raw,
--   sign_cert_since, prev_sign_cert_pem, prev_sign_cert_sha256
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
       t.escaped_sums, t.rsa_raw,
       coalesce(CASE WHEN cur.since = '-infinity' THEN 0
                     ELSE ceil(extract(epoch FROM cur.since))::bigint END, 0) AS sign_cert_since,
       coalesce(prev.pem, '') AS prev_sign_cert_pem,
       coalesce(encode(prev.sha, 'hex'), '') AS prev_sign_cert_sha256
  FROM terminal t LEFT JOIN vehicle v ON v.id = t.vehicle_id
  LEFT JOIN LATERAL (
       SELECT c.since FROM terminal_cert c WHERE c.terminal_id = t.id
        ORDER BY c.since DESC LIMIT 1) cur ON true
  LEFT JOIN LATERAL (
       SELECT coalesce(c.sign_cert_pem, c.cert_pem) AS pem,
              coalesce(c.sign_cert_sha256, c.cert_sha256) AS sha
         FROM terminal_cert c WHERE c.terminal_id = t.id
        ORDER BY c.since DESC OFFSET 1 LIMIT 1) prev ON true
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
