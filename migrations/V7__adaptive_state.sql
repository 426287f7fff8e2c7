-- Adaptive (CAT) sessions keep their whole engine state (aiq_core::cat::CatSession as JSON) on
-- the session row, so any instance, after any restart, continues a session where it stopped.
-- cat_items counts the answered items: each /test/next writes the new state only if the stored
-- one still has the count it read (compare-and-set), so two concurrent answers to the same
-- item make exactly one step.
ALTER TABLE test_sessions
    ADD COLUMN cat_state JSONB,
    ADD COLUMN cat_items INTEGER NOT NULL DEFAULT 0 CHECK (cat_items >= 0);

-- The prior of a new adaptive session is the latest completed adaptive session's final θ.
CREATE INDEX ix_test_sessions_user_adaptive_done ON test_sessions (user_id, completed_at DESC)
    WHERE status = 'completed' AND is_adaptive AND final_theta IS NOT NULL;
