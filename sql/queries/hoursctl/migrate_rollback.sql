-- hoursctl migrate: a migration that failed leaves nothing behind.
ROLLBACK
