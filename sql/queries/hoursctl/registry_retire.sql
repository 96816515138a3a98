-- registry_retire.sql - hoursctl coach|vehicle retire: $1 'coach' or
-- 'vehicle', $2 the coach number or plate.  One row: retired, already or
-- missing (registry_retire(), 016).
-- columns: registry_retire (outcome)
SELECT registry_retire($1, $2)
