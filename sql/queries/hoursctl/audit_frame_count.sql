-- hoursctl audit verify: how many training records, session events and
-- photos the range $1-$2 and school $3 (as audit_frame_records.sql) hold:
-- the total of the progress line, asked only when it is shown.
-- columns: records, events, photos
SELECT (SELECT count(*) FROM training_record r
         WHERE ($1::timestamptz IS NULL OR r.record_time >= $1::timestamptz)
           AND ($2::timestamptz IS NULL OR r.record_time < $2::timestamptz)
           AND ($3::bigint IS NULL
                OR r.terminal_id IN (SELECT id FROM terminal WHERE school_id = $3::bigint)))
         AS records,
       (SELECT count(*) FROM session_event e
         WHERE ($1::timestamptz IS NULL OR e.event_time >= $1::timestamptz)
           AND ($2::timestamptz IS NULL OR e.event_time < $2::timestamptz)
           AND ($3::bigint IS NULL
                OR e.terminal_id IN (SELECT id FROM terminal WHERE school_id = $3::bigint)))
         AS events,
       (SELECT count(*) FROM photo p
         WHERE ($1::timestamptz IS NULL OR p.received_at >= $1::timestamptz)
           AND ($2::timestamptz IS NULL OR p.received_at < $2::timestamptz)
           AND ($3::bigint IS NULL
                OR p.terminal_id IN (SELECT id FROM terminal WHERE school_id = $3::bigint)))
         AS photos
