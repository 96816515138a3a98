-- vehicle_bind.sql - hoursctl vehicle bind|unbind: $1 the terminal's
-- number (without leading zeros), $2 the plate (NULL: unbind).  One row:
-- bound, same, unbound, not_bound, no_terminal, no_vehicle or retired
-- (registry_bind(), 016).
-- columns: registry_bind (outcome)
SELECT registry_bind($1, $2)
