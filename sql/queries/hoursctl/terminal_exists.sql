-- Whether terminal $1 (its number) is known: true or false.
SELECT EXISTS (SELECT 1 FROM terminal WHERE phone = $1)
