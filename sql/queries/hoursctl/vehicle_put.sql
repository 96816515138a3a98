-- vehicle_put.sql - register a training vehicle or change its facts
-- (hoursctl vehicle add|import): $1 plate, $2 school code, $3 vehicle
-- number (NULL: none yet), $4 plate colour, $5 frame number, $6 engine
-- number, $7 make, $8 model, $9 training class, $10 purchase date.  One
-- row: added, same, updated, moved, no_school, retired or number_taken
-- (registry_vehicle_put(), 016).
-- columns: registry_vehicle_put (outcome)
SELECT registry_vehicle_put($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::date)
