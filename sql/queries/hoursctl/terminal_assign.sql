-- hoursctl terminal assign: the school whose sites a terminal's minutes are
-- checked against ($1 = terminal number, $2 = school code).  One row
-- updated, or none when either is unknown.
UPDATE terminal t SET school_id = s.id, updated_at = now()
  FROM school s
 WHERE t.phone = $1 AND s.code = $2
