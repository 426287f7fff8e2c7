-- Reads that stay flat as the history grows.
-- The reminder run selects the results completed within a window of days; without this index
-- it read every user's latest result (a probe per user) to find them.
CREATE INDEX ix_test_results_completed_at ON test_results (completed_at);
-- Item statistics read an item's latest responses (newest ids first) instead of all of them;
-- the old index on question_id alone is a prefix of this one.
CREATE INDEX ix_responses_question_id_id ON responses (question_id, id);
DROP INDEX ix_responses_question;
