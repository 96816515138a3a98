-- hoursctl, once connected: no NOTICE lines (IF NOT EXISTS and the like)
-- on the operator's terminal.
SET client_min_messages = warning
