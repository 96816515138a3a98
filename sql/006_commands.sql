-- 006_commands.sql - the platform's commands to a terminal (docs/protocol.md,
-- "Commands"): fetch its records (0x8205), take a photo now (0x8301), a
-- training ban (0x8502).  hoursctl queues a command; the hoursd instance the
-- terminal is authenticated on takes it (an atomic update sets sent_at, so
-- one instance sends it once), sends it in 0x8900 and records the
-- terminal's answer.  A command not sent by expires_at is never sent.
CREATE TABLE terminal_command (
	id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	terminal_id  bigint NOT NULL REFERENCES terminal,
	kind         text NOT NULL CHECK (kind IN ('fetch_records', 'take_photo', 'training_ban')),
	ext_id       integer NOT NULL,            -- the extension message: 0x8205, 0x8301, 0x8502
	data         bytea NOT NULL,              -- its data, as sent after the extension header
	created_by   text NOT NULL DEFAULT current_user,
	created_at   timestamptz NOT NULL DEFAULT now(),
	expires_at   timestamptz NOT NULL,
	sent_at      timestamptz,
	ext_serial   integer,                     -- the extension serial it went out with
	answered_at  timestamptz,                 -- the terminal's first answer
	result       smallint,                    -- its last answer's result (docs/protocol.md)
	CHECK ((sent_at IS NULL) = (ext_serial IS NULL)),
	CHECK (answered_at IS NULL OR sent_at IS NOT NULL)
);
-- What an instance looks for: a terminal's commands still to send when it
-- authenticates, and every second the ones queued in the last minute.
CREATE INDEX terminal_command_waiting ON terminal_command (terminal_id)
	WHERE sent_at IS NULL;
CREATE INDEX terminal_command_new ON terminal_command (created_at)
	WHERE sent_at IS NULL;

-- The state of each command, for hoursctl and auditors.
CREATE VIEW terminal_command_state AS
SELECT c.*, t.phone,
       CASE WHEN c.answered_at IS NOT NULL THEN 'answered'
            WHEN c.sent_at IS NOT NULL THEN 'sent'
            WHEN c.expires_at <= now() THEN 'expired'
            ELSE 'waiting' END AS state
  FROM terminal_command c JOIN terminal t ON t.id = c.terminal_id;
