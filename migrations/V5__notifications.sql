-- Push reminders.

-- The test result the last test reminder was sent for. A user is reminded once per eligibility
-- window (DECISIONS.md "Reminders"), not on every daily run inside it: the reminder is due when
-- this differs from the user's latest result, so a later test opens a new window. A plain id,
-- not a foreign key: results are only deleted together with their user.
ALTER TABLE users ADD COLUMN test_reminder_sent_for BIGINT;

-- The daily selection reads only users who can receive a push.
CREATE INDEX ix_users_push_enabled ON users (id)
    WHERE notification_enabled AND apns_device_token IS NOT NULL;
