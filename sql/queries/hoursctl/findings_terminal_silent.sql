-- hoursctl findings, 能用尽用: active terminals not heard of for
-- findings.silent_days ($4) days or more (now: $2 and $3 play no part).
-- Parameters and columns: findings_short_lesson.sql.
-- columns: ?column? (finding), school_code, ?column? (subject),
--   coalesce (at), silent_days, format (detail),
--   jsonb_build_array (evidence)
SELECT 'terminal_silent', f.school_code, 'terminal ' || f.terminal,
       coalesce(local_time_z(f.last_seen), 'never'), f.silent_days::text,
       format('silent for %s days (vendor %s)', f.silent_days, f.vendor),
       jsonb_build_array(jsonb_build_object('table', 'terminal', 'phone', f.terminal,
                                            'terminal_no', f.terminal_no, 'vendor', f.vendor,
                                            'last_seen', local_time_z(f.last_seen)))::text
  FROM finding_terminal_last_seen f
 WHERE ($1::text IS NULL OR f.school_code = $1)
   AND ($2::timestamptz IS NULL OR $2 IS NOT NULL) AND ($3::timestamptz IS NULL OR $3 IS NOT NULL)
   AND f.silent_days >= $4::integer
 ORDER BY f.school_code, f.terminal
