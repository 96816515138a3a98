-- coach_show.sql - hoursctl coach show COACH ($1): the coach's facts.
-- columns: coach_no, code, name, id_card_sha256, licence_no, licensed_on,
--   occupation_no, occupation_level, drive, teach, employ_status, hired_on,
--   left_on, status, retired_at, created
SELECT c.coach_no, s.code, coalesce(c.name, '') AS name,
       coalesce(encode(c.id_card_sha256, 'hex'), '') AS id_card_sha256,
       coalesce(c.licence_no, '') AS licence_no, coalesce(c.licensed_on::text, '') AS licensed_on,
       coalesce(c.occupation_no, '') AS occupation_no,
       coalesce(c.occupation_level::text, '') AS occupation_level,
       array_to_string(c.drive_classes, ' ') AS drive, array_to_string(c.teach_classes, ' ') AS teach,
       c.employ_status, coalesce(c.hired_on::text, '') AS hired_on,
       coalesce(c.left_on::text, '') AS left_on, c.status,
       coalesce(local_time(c.retired_at), '') AS retired_at, local_time(c.created_at) AS created
  FROM coach c JOIN school s ON s.id = c.school_id
 WHERE c.coach_no = $1
