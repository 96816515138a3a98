-- hoursctl report quarterly: what a school has under supervision ($1 the
-- school code; $2 from, $3 to, timestamptz; $4 findings.silent_days):
-- its coaches, its vehicles and its training grounds.  Columns: kind
-- (coach, vehicle, training_ground), the coach number, plate or site
-- name, a detail, a state, and the minutes accepted in the quarter (a
-- coach's under them, a vehicle's on its terminals; a ground: 0).
-- States: a coach of the registry joined (hire date in the quarter; none
-- recorded: there before it), left (leave date or retirement in it) or active; one who left
-- before the quarter is not listed; a coach number seen in the school's
-- records and not in the registry is not_registered.  A vehicle (not
-- retired before the quarter) with_terminal, silent (its bound terminal
-- not heard of for $4 days) or without_terminal.  A ground: its kind.
-- columns: ?column? (kind), coach_no (id), concat_ws (detail), case (state),
--   coalesce (minutes)
WITH sc AS (SELECT id FROM school WHERE code = $1)
SELECT 'coach', c.coach_no,
       concat_ws(' ', c.name, 'teaches ' || nullif(array_to_string(c.teach_classes, ' '), ''),
                 'hired ' || c.hired_on, 'left ' || c.left_on),
       CASE WHEN coalesce(least(local_midnight(c.left_on + 1), c.retired_at), $3::timestamptz)
                 < $3::timestamptz THEN 'left'
            WHEN local_midnight(c.hired_on) >= $2::timestamptz THEN 'joined'
            ELSE 'active' END,
       coalesce((SELECT count(*) FROM training_record r
                  WHERE r.coach_no = c.coach_no AND r.verdict = 'accepted'
                    AND r.record_time >= $2::timestamptz AND r.record_time < $3::timestamptz), 0)
  FROM coach c JOIN sc ON sc.id = c.school_id
 WHERE coalesce(least(local_midnight(c.left_on + 1), c.retired_at), $3::timestamptz)
       >= $2::timestamptz
   AND coalesce(local_midnight(c.hired_on), '-infinity') < $3::timestamptz
UNION ALL
SELECT 'coach', r.coach_no, 'in ' || count(*) || ' records of the period', 'not_registered',
       count(*) FILTER (WHERE r.verdict = 'accepted')
  FROM training_record r JOIN terminal t ON t.id = r.terminal_id
  JOIN sc ON sc.id = t.school_id
 WHERE r.record_time >= $2::timestamptz AND r.record_time < $3::timestamptz
   AND NOT EXISTS (SELECT 1 FROM coach c WHERE c.coach_no = r.coach_no)
 GROUP BY r.coach_no
UNION ALL
SELECT 'vehicle', v.plate,
       concat_ws(' ', v.vehicle_class, v.vehicle_no,
                 coalesce('terminal ' || b.phones, 'no terminal')),
       CASE WHEN b.phones IS NULL THEN 'without_terminal'
            WHEN b.silent THEN 'silent' ELSE 'with_terminal' END,
       coalesce((SELECT count(*) FROM training_record r
                  JOIN terminal_binding tb ON tb.terminal_id = r.terminal_id
                   AND tb.vehicle_id = v.id AND tb.bound_at <= r.record_time
                   AND (tb.unbound_at IS NULL OR r.record_time < tb.unbound_at)
                  WHERE r.verdict = 'accepted' AND r.record_time >= $2::timestamptz
                    AND r.record_time < $3::timestamptz), 0)
  FROM vehicle v JOIN sc ON sc.id = v.school_id
  LEFT JOIN LATERAL (
       SELECT string_agg(t.phone, ' ' ORDER BY t.phone) AS phones,
              bool_and(coalesce(ls.silent_days >= $4::integer, true)) AS silent
         FROM terminal t
         LEFT JOIN finding_terminal_last_seen ls ON ls.terminal = t.phone
        WHERE t.vehicle_id = v.id AND t.status = 'active') b ON true
 WHERE coalesce(v.retired_at, $3::timestamptz) >= $2::timestamptz
UNION ALL
SELECT 'training_ground', ts.name, ts.kind, ts.kind, 0
  FROM training_site ts JOIN sc ON sc.id = ts.school_id
 ORDER BY 1, 2
