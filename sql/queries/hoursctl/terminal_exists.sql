-- Whether terminal $1 (its number) is known: true or false.
-- columns: exists
SELECT EXISTS (SELECT 1 FROM terminal WHERE phone = $1)
