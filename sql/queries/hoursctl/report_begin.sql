-- hoursctl report import-police: the good rows of a file in one transaction.
BEGIN
