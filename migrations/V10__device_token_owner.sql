-- A push device token belongs to the account signed in on that device, one account at a time:
-- registering it for one user clears it from any other (their reminders would otherwise reach
-- someone else's phone). This index finds the previous owner without a scan.
CREATE INDEX ix_users_apns_device_token ON users (apns_device_token)
    WHERE apns_device_token IS NOT NULL;
