-- hoursctl push upward-retry ID: a failed master-data item pending again,
-- due now, its answers of errorcode 1 counted anew ($1 = item id).
-- Columns: its kind and method; no row when it is not failed.
-- columns: kind, method
UPDATE upward_item SET state = 'pending', next_attempt = now(), failed_1 = 0
 WHERE id = $1::bigint AND state = 'failed'
RETURNING kind, method
