-- coach_put.sql - register a coach or change its facts (hoursctl coach
-- add|import): $1 coach number, $2 school code, $3 name, $4 identity-card
-- number (NULL: the recorded one stays), $5 driving licence number, $6
-- its first date, $7 occupation certificate number, $8 its level, $9
-- classes the licence allows (text[]), $10 classes the coach may teach
-- (text[]), $11 employment status, $12 hire date, $13 leave date.  One
-- row: added, same, updated, moved, no_school or retired
-- (registry_coach_put(), 016).
-- columns: registry_coach_put (outcome)
SELECT registry_coach_put($1, $2, $3, $4, $5, $6::date, $7, $8::smallint, $9::text[],
                          $10::text[], $11::smallint, $12::date, $13::date)
