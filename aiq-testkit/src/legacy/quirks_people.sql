-- Quirk rows, part 1: accounts and what hangs off them directly (OAuth links, groups, invites,
-- feedback, analytics, reset tokens, guest device quotas). Each row is named after the quirk it
-- carries: in the email local part, the group name, the description or a comment.
-- Ids are explicit and leave gaps; the sequences are advanced past them at the very end.

-- bcrypt hashes are precomputed (cost 12) for the passwords listed in QUIRK_USERS (mod.rs).
INSERT INTO users (
    id, email, password_hash, first_name, last_name, created_at, last_login_at,
    notification_enabled, apns_device_token, birth_year, education_level, country, region,
    day_30_reminder_sent_at, token_revoked_before, bypass_cooldown, is_admin,
    password_login_enabled
) VALUES
-- HTML-escaped names, country and region (the old code escaped after filtering); 2 completed tests.
(3, 'html-escaped-name@example.com',
    '$2b$12$pocywFSDzxKbiX11psq6o.VRPJjbu1oTHeFOCXMqPWrOySvMW29xq',
    'Mary-Kate', 'O&#x27;Brien', now() - interval '700 days', now() - interval '20 days',
    true, NULL, NULL, NULL, 'Côte d&#x27;Ivoire', 'Hawai&#x27;i', NULL, NULL, false, false, true),
-- 2 completed tests whose stored is_correct disagrees with re-grading; '&amp;' in the name
-- (a row from before the character filter).
(5, 'history-regrade-mismatch@example.com',
    '$2b$12$d51IZR4z.vf96ba1yKJSf.13VYwx1nCxOtUSYqBMxDYXIxbTb1oWO',
    'Jo', 'Smith &amp; Jones', now() - interval '650 days', now() - interval '40 days',
    true, NULL, 1988, 'BACHELORS', 'United States', 'Texas', NULL, NULL, false, false, true),
-- 2 completed tests: one suspect result, one admin-overridden result (validity_overridden_by 0).
(8, 'history-validity-override@example.com',
    '$2b$12$vWX6XOLFMa7V3oa6Xpcxde8ierJFa53YesPVove1kSZ3nDYxZ2gMm',
    'Dana', 'Lee', now() - interval '600 days', now() - interval '100 days',
    true, NULL, 1994, 'MASTERS', NULL, NULL, NULL, NULL, false, false, true),
-- Password longer than 72 bytes; the hash covers its first 72 bytes only.
(12, 'long-password-over-72-bytes@example.com',
    '$2b$12$DZuiw/OcIRCtXeIhM2ddOuNv0m4JzK0JYUP0bPMGHoa7WIiS/Ynoy',
    'Long', 'Password', now() - interval '500 days', now() - interval '3 days',
    true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, false, false, true),
-- A $2a$ hash (older bcrypt prefix).
(13, 'bcrypt-2a-prefix@example.com',
    '$2a$12$KAcrSLiaDKqeWyVCaC9oluUuAOrBprzaVVIe6WeZ3nWuFJbc/PSYa',
    'Ada', 'Prefix', now() - interval '480 days', NULL,
    true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, false, false, true),
-- OAuth-only: unusable random hash, password login off, names NULL, Apple + Google identities.
(17, 'oauth-only-apple-google@example.com',
    '$2b$12$sE0PU/iO161./uomgv4qsuGC1bS6Zm0glR9jq0Ngi.WEKTnHcuYHa',
    NULL, NULL, now() - interval '300 days', now() - interval '5 days',
    true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, false, false, false),
-- Password account that also linked Google later.
(18, 'password-plus-google@example.com',
    '$2b$12$bPPnRIqHE9duZv6M2k8Bu.c2ihj/EINnA2/KYIfz0dJov2k.SiqMi',
    'Gus', 'Linked', now() - interval '450 days', now() - interval '9 days',
    true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, false, false, true),
-- "Log out everywhere": token_revoked_before set.
(21, 'logout-all-token-revoked@example.com',
    '$2b$12$8N2x7x8C/UAqtZxNCDim6uLAQ2.B4wEMGINpo.ICTJm/D/QO0.ohy',
    'Rex', 'Revoked', now() - interval '420 days', now() - interval '4 days',
    true, NULL, NULL, NULL, NULL, NULL, NULL, now() - interval '3 days', false, false, true),
-- APNs token with notifications on, and the day-30 reminder already sent.
(22, 'apns-notifications-on@example.com',
    '$2b$12$4I/0Y7GhOQRLo2YYlfZ8ue8mxwLUvyxaxeW2dAyvYS5evDNFJNJYq',
    'Pia', 'Push', now() - interval '400 days', now() - interval '2 days',
    true, encode(sha256('apns-notifications-on'::bytea), 'hex'), NULL, NULL, NULL, NULL,
    now() - interval '360 days', NULL, false, false, true),
-- Notifications switched off (and no device token).
(23, 'notifications-off@example.com',
    '$2b$12$o69uNPxckycbdg0Hxh1mdeZof26Ocvd06ib.5HUEAp/0jRTesmmYi',
    'Nat', 'Quiet', now() - interval '390 days', now() - interval '30 days',
    false, NULL, NULL, NULL, NULL, NULL, NULL, NULL, false, false, true),
-- Admin with bypass_cooldown.
(25, 'admin-bypass-cooldown@example.com',
    '$2b$12$F7WqA2aQPz2GO7TCvPwKQetmaT7tTgAQ/0j7xCVH1PF0abe1zQ8u2',
    'Ari', 'Admin', now() - interval '800 days', now() - interval '1 day',
    true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, true, true, true),
-- Mixed-case email stored by hand (the app lowercases; the unique index is case-sensitive).
(27, 'Mixed.Case-Email@Example.COM',
    '$2b$12$L.Hmzn5gmDtF.bIpkTYzKuLXB8Zj3vY0r77uVFR67p5bcRsRFQH.O',
    'Max', 'Case', now() - interval '380 days', NULL,
    true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, false, false, true),
-- Two completed real CAT sessions.
(30, 'cat-completed@example.com',
    '$2b$12$90/AasByN/sPbwiI3q4Vkel8okXI3u.rc55BkPcNRLfso4i7/E.Pi',
    'Cat', 'Completed', now() - interval '370 days', now() - interval '120 days',
    true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, false, false, true),
-- A CAT session in progress.
(31, 'cat-in-progress@example.com',
    '$2b$12$TAEVipq83U/Y8zyzW6ly0e47XIOxVrVjl7W0IOlu5a1b9SdtCJjhS',
    'Cat', 'Running', now() - interval '20 days', now() - interval '10 minutes',
    true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, false, false, true),
-- Registered right after a guest test and claimed it (session 235).
(33, 'guest-claimer@example.com',
    '$2b$12$9SMqkLDVbR4cX9jMlBjMqOzbS72kN96mqqIRsZt18p0O3Dzxs.TSW',
    'Gia', 'Claimer', now() - interval '140 days' + interval '15 minutes',
    now() - interval '140 days' + interval '15 minutes',
    true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, false, false, true),
-- The App Store review demo account (sessions 222 and 223).
(35, 'demo-account@example.com',
    '$2b$12$skN58D7zTSMX6JjmvDoXnemdLiZnayjeJKzKIDlfsuA2MgJBzETCK',
    'App Store', 'Review', now() - interval '210 days', now() - interval '50 days',
    true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, true, false, true),
-- A fixed-form session flagged is_adaptive (cat_readiness.enabled was on).
(36, 'adaptive-flag-fixed-form@example.com',
    '$2b$12$Dz/mWfWJ6gUt/EWm9dA0j.nea9.egyCNlk.nxk3WV.oUlIifHxJE6',
    'Ivy', 'Flagged', now() - interval '135 days', now() - interval '130 days',
    true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, false, false, true),
-- An abandoned fixed-form session (0 responses, seen questions kept) and pre-2025 seen rows.
(40, 'abandoned-fixed-form@example.com',
    '$2b$12$KDl5QZ0VAr4XD/Upr8utNODNbVNbhUJl2MVN6fnj.kFMqXU2ojy5S',
    'Abe', 'Quitter', now() - interval '620 days', now() - interval '95 days',
    true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, false, false, true),
-- Demographics filled in.
(44, 'education-birth-year@example.com',
    '$2b$12$Z6BS70ZgAtBVY/vYW88biO6N1FvjvwvExP9KygJWgbhJXLTFfC/Em',
    'Eda', 'Scholar', now() - interval '350 days', now() - interval '60 days',
    true, NULL, 1975, 'DOCTORATE', 'Germany', 'Bavaria', NULL, NULL, false, false, true),
-- A fixed-form session in progress.
(45, 'in-progress-fixed-form@example.com',
    '$2b$12$NkTxSb1kV1wsJOEVzrrWC.Iz4cctMAdfQ.N18q.0qnMlP1aUPN95y',
    'Ina', 'Busy', now() - interval '30 days', now() - interval '20 minutes',
    true, NULL, NULL, 'PREFER_NOT_TO_SAY', NULL, NULL, NULL, NULL, false, false, true);

-- OAuth identities: user 17 has Apple and Google; user 18 (password account) has Google.
INSERT INTO oauth_identities (id, user_id, provider, provider_subject, created_at) VALUES
(1401, 17, 'apple', '001234.5f6e7d8c9b0a41e2b3c4d5e6f7a8b9c0.1234', now() - interval '300 days' + interval '2 seconds'),
(1402, 17, 'google', '109876543210987654321', now() - interval '200 days'),
(1405, 18, 'google', '112233445566778899001', now() - interval '100 days');

-- Groups: 401 has the owner and 2 members (max 10); 402 is full at max_members 3.
INSERT INTO groups (id, name, created_by, created_at, invite_code, max_members) VALUES
(401, 'quirk owner plus 2 members', 3, now() - interval '120 days', 'QTRIO401', 10),
(402, 'quirk max-members-3 full', 25, now() - interval '90 days', 'CAP3X402', 3);

INSERT INTO group_memberships (id, group_id, user_id, role, joined_at) VALUES
(451, 401, 3, 'owner', now() - interval '120 days'),
(452, 401, 5, 'member', now() - interval '110 days'),
(453, 401, 8, 'member', now() - interval '99 days'),  -- joined through invite 503
(455, 402, 25, 'owner', now() - interval '90 days'),
(456, 402, 30, 'member', now() - interval '80 days'),
(457, 402, 44, 'member', now() - interval '70 days');

-- Invites: 501 open (expires in the future), 502 expired, 503 accepted by user 8.
INSERT INTO group_invites (
    id, group_id, invited_by, invite_code, created_at, expires_at, accepted_by, accepted_at
) VALUES
(501, 401, 3, 'OPEN5010', now() - interval '2 days', now() + interval '5 days', NULL, NULL),
(502, 401, 3, 'EXPD5020', now() - interval '40 days', now() - interval '33 days', NULL, NULL),
(503, 401, 3, 'ACPT5030', now() - interval '100 days', now() - interval '93 days', 8,
    now() - interval '99 days');

-- Feedback: always PENDING; names HTML-escaped; one anonymous row; one old row with an IP.
INSERT INTO feedback_submissions (
    id, user_id, name, email, category, description, app_version, ios_version, device_id,
    ip_address, status, created_at
) VALUES
(601, 3, 'Mary-Kate O&#x27;Brien', 'html-escaped-name@example.com', 'BUG_REPORT',
    'quirk html-escaped-name: the results screen froze right after I submitted my test.',
    '2.4.1', 'iOS 18.2', '6F1C2B7E-0D3A-4C55-9E21-7A8B9C0D1E2F', NULL, 'PENDING',
    now() - interval '30 days'),
(602, NULL, 'Smith &amp; Jones', 'anonymous.sender@example.net', 'FEATURE_REQUEST',
    'quirk user-id-null: sent before signing in. Please add a dark mode & bigger fonts.',
    '2.4.0', 'iOS 17.5', NULL, NULL, 'PENDING', now() - interval '25 days'),
(603, 5, 'Jo Smith', 'history-regrade-mismatch@example.com', 'GENERAL_FEEDBACK',
    'quirk old-row-with-ip-address: stored before the ip_address column was retired.',
    '1.9.2', 'iOS 17.1', '0B8E5D44-1111-4E0F-8A77-22C3D4E5F601', '203.0.113.77', 'PENDING',
    '2026-01-05 14:03:27.512+00'),
(604, 44, 'Eda Scholar', 'eda.scholar@example.org', 'QUESTION_HELP',
    'quirk contact-email-differs: I think question 1013 has two correct answers.',
    '2.4.1', NULL, NULL, NULL, 'PENDING', now() - interval '12 days'),
(605, 17, 'Oauth User', 'oauth-only-apple-google@example.com', 'OTHER',
    'quirk category-other: how do I set a password for my Apple account?',
    '2.4.1', 'iOS 18.1', 'A1A1A1A1-B2B2-4C3C-8D4D-E5E5E5E5E5E5', NULL, 'PENDING',
    now() - interval '4 days');

-- Analytics: properties as an object, as JSON null, as SQL NULL; one anonymous event.
INSERT INTO client_analytics_events (
    id, event_name, client_timestamp, received_at, user_id, properties, client_platform,
    app_version, device_id
) VALUES
(901, 'user.login', now() - interval '20 days' - interval '3 seconds', now() - interval '20 days',
    3, '{"method": "password", "screen": "login", "quirk": "properties-object"}', 'ios', '2.4.1',
    '6F1C2B7E-0D3A-4C55-9E21-7A8B9C0D1E2F'),
(902, 'test.started', now() - interval '200 days' + interval '40 seconds',
    now() - interval '200 days', 5, 'null', 'ios', '2.3.0', NULL),
(903, 'app.opened', now() - interval '150 days', now() - interval '150 days', 8, NULL, 'ios',
    '2.2.9', NULL),
(905, 'app.opened', now() - interval '7 days' - interval '2 hours', now() - interval '7 days',
    NULL, '{"cold_start": true, "quirk": "user-id-null"}', 'ios', '2.4.1',
    'C0FFEE00-1234-4ABC-9DEF-001122334455');

-- Password reset tokens: one used, one expired and never used, one still valid.
INSERT INTO password_reset_tokens (id, user_id, token, expires_at, used_at, created_at) VALUES
(851, 12, 'qUsedTokenXyZ0123456789abcdefghijklmnopqrs1', now() - interval '60 days',
    now() - interval '60 days' - interval '20 minutes', now() - interval '60 days' - interval '30 minutes'),
(852, 12, 'qExpiredTokenAbC0123456789abcdefghijklmnop2', now() - interval '10 days', NULL,
    now() - interval '10 days' - interval '30 minutes'),
(854, 21, 'qLiveTokenDeF0123456789abcdefghijklmnopqrs3', now() + interval '20 minutes', NULL,
    now() - interval '10 minutes');

-- Guest quotas: one device per guest test below, one row with tests_taken = 0 (created at
-- guest start), one device at the limit of 3.
INSERT INTO guest_device_limits (id, device_id, tests_taken, first_test_at, last_test_at) VALUES
(801, 'guest-device-completed-one', 1, now() - interval '160 days', now() - interval '160 days'),
(802, 'guest-device-tests-taken-zero', 0, now() - interval '10 minutes', now() - interval '10 minutes'),
(803, 'guest-device-claimed', 1, now() - interval '140 days', now() - interval '140 days'),
(806, 'guest-device-at-limit-3', 3, now() - interval '300 days', now() - interval '20 days');
