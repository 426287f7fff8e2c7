-- The admin lists page by seek: each page starts at a row's position in the list's order,
-- (sort key, id), which these indexes find without reading the rows before it. One per order
-- a list offers over a table that grows with the deployment (the question bank stays small).
CREATE INDEX ix_users_created_at ON users (created_at, id);
-- Byte order, as the lists compare emails whatever the database's collation.
CREATE INDEX ix_users_email_bytes ON users ((email COLLATE "C"), id);
-- Accounts that never logged in sort as the oldest.
CREATE INDEX ix_users_last_login_at ON users ((COALESCE(last_login_at, '-infinity'::timestamptz)), id);
CREATE INDEX ix_test_sessions_started_at ON test_sessions (started_at, id);
-- A session list filtered by status reads that status's sessions in order.
CREATE INDEX ix_test_sessions_status_started_at ON test_sessions (status, started_at, id);

-- User search matches a substring of the email or the names: a trigram index finds the few
-- matching rows of a large table. pg_trgm ships with PostgreSQL and is a trusted extension
-- (the database's owner may create it); where it cannot be created, search stays a scan of
-- the users table and nothing else changes.
DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_trgm;
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'pg_trgm is not available (%): user search scans the users table', SQLERRM;
END
$$;
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN
        CREATE INDEX ix_users_search ON users
            USING gin (email gin_trgm_ops, first_name gin_trgm_ops, last_name gin_trgm_ops);
    END IF;
END
$$;
