-- The reminder run selects the results completed within a window of days; without this index
-- it read every user's latest result (a probe per user) to find them.
CREATE INDEX ix_test_results_completed_at ON test_results (completed_at);
