-- A push device token belongs to the account signed in on that device, one account at a time:
-- registering it for one user clears it from any other (their reminders would otherwise reach
-- someone else's phone). This index finds the previous owner without a scan.
CREATE INDEX ix_users_apns_device_token ON users (apns_device_token)
    WHERE apns_device_token IS NOT NULL;

-- Tokens already held by several accounts (data from before this rule) stay with the account
-- that signed in last.
UPDATE users SET apns_device_token = NULL
WHERE id IN (
    SELECT id FROM (
        SELECT id, row_number() OVER (
            PARTITION BY apns_device_token ORDER BY last_login_at DESC NULLS LAST, id DESC
        ) AS holder
        FROM users
        WHERE apns_device_token IS NOT NULL
    ) holders
    WHERE holder > 1
);
