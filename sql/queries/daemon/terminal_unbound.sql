-- terminal_unbound.sql - the active terminals whose registration hands
-- their PKCS#12 and its password to any client that gives their number:
-- provisioned with a PKCS#12 but with neither an IMEI nor a factory
-- serial to match (hoursd warns of each at start).
-- columns: phone
SELECT t.phone
  FROM terminal t
  JOIN terminal_credential c ON c.terminal_id = t.id
 WHERE t.status = 'active' AND t.imei IS NULL AND t.factory_serial IS NULL
 ORDER BY t.phone
