-- The overview reads windows, never whole tables.
-- Completions per day: the 90-day window of completed sessions from an index (42 ms on 300,000
-- sessions before, a few ms after).
CREATE INDEX IF NOT EXISTS ix_test_sessions_completed_at
    ON test_sessions (completed_at)
    WHERE status = 'completed';
-- The score distribution of the latest 10,000 results, read from the index alone; it replaces
-- V12's index on completed_at, whose queries (the reminder run's window) it serves as well.
CREATE INDEX IF NOT EXISTS ix_test_results_completed_at_id
    ON test_results (completed_at, id) INCLUDE (iq_score);
DROP INDEX IF EXISTS ix_test_results_completed_at;
