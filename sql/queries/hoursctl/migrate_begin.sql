-- hoursctl migrate: each migration file in a transaction of its own.
BEGIN
