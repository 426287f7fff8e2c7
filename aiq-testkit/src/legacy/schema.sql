-- The old Python backend's database at alembic head 'pwdlogin474a', written from
-- /work/shared/spec/original-schema.md: the enum types (§2) and the user-data tables (§3.1-§3.17).
-- schema_ops.sql continues with the rest. Both run in one simple-query batch, so atomically.

-- §2: native enum types. Stored labels are the UPPERCASE member names, except
-- generationrunstatus, which the old code recreated with lowercase labels.
CREATE TYPE questiontype AS ENUM ('PATTERN', 'LOGIC', 'SPATIAL', 'MATH', 'VERBAL', 'MEMORY');
CREATE TYPE difficultylevel AS ENUM ('EASY', 'MEDIUM', 'HARD');
CREATE TYPE teststatus AS ENUM ('IN_PROGRESS', 'COMPLETED', 'ABANDONED');
CREATE TYPE educationlevel AS ENUM (
    'HIGH_SCHOOL', 'SOME_COLLEGE', 'ASSOCIATES', 'BACHELORS', 'MASTERS', 'DOCTORATE',
    'PREFER_NOT_TO_SAY'
);
CREATE TYPE feedbackcategory AS ENUM (
    'BUG_REPORT', 'FEATURE_REQUEST', 'GENERAL_FEEDBACK', 'QUESTION_HELP', 'OTHER'
);
CREATE TYPE feedbackstatus AS ENUM ('PENDING', 'REVIEWED', 'RESOLVED');
CREATE TYPE generationrunstatus AS ENUM ('running', 'success', 'partial_failure', 'failed');

-- §3.1
CREATE TABLE users (
    id SERIAL NOT NULL,
    email VARCHAR(255) NOT NULL,
    password_hash VARCHAR(255) NOT NULL,
    first_name VARCHAR(100),
    last_name VARCHAR(100),
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    last_login_at TIMESTAMP WITH TIME ZONE,
    notification_enabled BOOLEAN NOT NULL,
    apns_device_token VARCHAR(255),
    birth_year INTEGER,
    education_level educationlevel,
    country VARCHAR(100),
    region VARCHAR(100),
    day_30_reminder_sent_at TIMESTAMP WITH TIME ZONE,
    token_revoked_before TIMESTAMP WITH TIME ZONE,
    bypass_cooldown BOOLEAN NOT NULL DEFAULT false,
    is_admin BOOLEAN NOT NULL DEFAULT false,
    password_login_enabled BOOLEAN NOT NULL DEFAULT true,
    CONSTRAINT users_pkey PRIMARY KEY (id)
);
CREATE UNIQUE INDEX ix_users_email ON users (email);
CREATE INDEX ix_users_id ON users (id);
CREATE INDEX ix_users_token_revoked_before ON users (token_revoked_before)
    WHERE token_revoked_before IS NOT NULL;

-- §3.2
CREATE TABLE oauth_identities (
    id SERIAL NOT NULL,
    user_id INTEGER NOT NULL,
    provider VARCHAR(50) NOT NULL,
    provider_subject VARCHAR(255) NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT oauth_identities_pkey PRIMARY KEY (id),
    CONSTRAINT oauth_identities_user_id_fkey FOREIGN KEY (user_id)
        REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT uq_oauth_provider_subject UNIQUE (provider, provider_subject)
);
CREATE INDEX ix_oauth_identities_id ON oauth_identities (id);
CREATE INDEX ix_oauth_identities_user_id ON oauth_identities (user_id);

-- §3.3 (last_audited_at, added by hand outside alembic, comes at the end of this file)
CREATE TABLE questions (
    id SERIAL NOT NULL,
    question_text TEXT NOT NULL,
    question_type questiontype NOT NULL,
    difficulty_level difficultylevel NOT NULL,
    correct_answer VARCHAR(500) NOT NULL,
    answer_options JSON,
    explanation TEXT,
    metadata JSON,
    source_llm VARCHAR(100),
    judge_score DOUBLE PRECISION,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    is_active BOOLEAN NOT NULL,
    empirical_difficulty DOUBLE PRECISION,
    discrimination DOUBLE PRECISION,
    response_count INTEGER,
    irt_difficulty DOUBLE PRECISION,
    irt_discrimination DOUBLE PRECISION,
    irt_guessing DOUBLE PRECISION,
    prompt_version VARCHAR(50),
    original_difficulty_level difficultylevel,
    difficulty_recalibrated_at TIMESTAMP WITH TIME ZONE,
    distractor_stats JSON,
    quality_flag VARCHAR(20) NOT NULL DEFAULT 'normal',
    quality_flag_reason VARCHAR(255),
    quality_flag_updated_at TIMESTAMP WITH TIME ZONE,
    source_model VARCHAR(100),
    question_embedding DOUBLE PRECISION[],
    stimulus TEXT,
    sub_type VARCHAR(200),
    inferred_sub_type VARCHAR(200),
    is_anchor BOOLEAN NOT NULL DEFAULT false,
    anchor_designated_at TIMESTAMP WITH TIME ZONE,
    irt_calibrated_at TIMESTAMP WITH TIME ZONE,
    irt_se_difficulty DOUBLE PRECISION,
    irt_se_discrimination DOUBLE PRECISION,
    irt_calibration_n INTEGER,
    irt_information_peak DOUBLE PRECISION,
    CONSTRAINT questions_pkey PRIMARY KEY (id),
    CONSTRAINT ck_questions_quality_flag_valid
        CHECK (quality_flag IN ('normal', 'under_review', 'deactivated'))
);
COMMENT ON COLUMN questions.question_embedding IS
    'Embedding of the question text (1536 floats), used by the question-service to find duplicates';
CREATE INDEX ix_questions_id ON questions (id);
CREATE INDEX ix_questions_is_active ON questions (is_active);
CREATE INDEX ix_questions_type ON questions (question_type);
CREATE INDEX ix_questions_quality_flag ON questions (quality_flag);
CREATE INDEX ix_questions_response_count ON questions (response_count);
CREATE INDEX ix_questions_discrimination ON questions (discrimination);
CREATE INDEX ix_questions_difficulty_level ON questions (difficulty_level);
CREATE INDEX ix_questions_is_anchor ON questions (is_anchor);
CREATE INDEX ix_questions_irt_calibrated ON questions (irt_difficulty, irt_discrimination)
    WHERE irt_calibrated_at IS NOT NULL;

-- §3.5
CREATE TABLE test_sessions (
    id SERIAL NOT NULL,
    user_id INTEGER NOT NULL,
    started_at TIMESTAMP WITH TIME ZONE NOT NULL,
    completed_at TIMESTAMP WITH TIME ZONE,
    status teststatus NOT NULL,
    composition_metadata JSON,
    time_limit_exceeded BOOLEAN NOT NULL DEFAULT false,
    is_adaptive BOOLEAN NOT NULL DEFAULT false,
    theta_history JSON,
    final_theta DOUBLE PRECISION,
    final_se DOUBLE PRECISION,
    stopping_reason TEXT,
    CONSTRAINT test_sessions_pkey PRIMARY KEY (id),
    CONSTRAINT test_sessions_user_id_fkey FOREIGN KEY (user_id)
        REFERENCES users (id) ON DELETE CASCADE
);
CREATE INDEX ix_test_sessions_id ON test_sessions (id);
CREATE INDEX ix_test_sessions_user_id ON test_sessions (user_id);
CREATE INDEX ix_test_sessions_status ON test_sessions (status);
CREATE INDEX ix_test_sessions_user_status ON test_sessions (user_id, status);
CREATE INDEX ix_test_sessions_completed_at ON test_sessions (completed_at);
CREATE INDEX ix_test_sessions_user_completed ON test_sessions (user_id, completed_at);
CREATE INDEX idx_test_sessions_adaptive ON test_sessions (is_adaptive);
-- One in-progress session per real user; the guest (-1, hard-coded) may have many.
CREATE UNIQUE INDEX ix_test_sessions_user_active ON test_sessions (user_id)
    WHERE status = 'IN_PROGRESS' AND user_id != -1;

-- §3.4
CREATE TABLE user_questions (
    id SERIAL NOT NULL,
    user_id INTEGER NOT NULL,
    question_id INTEGER NOT NULL,
    seen_at TIMESTAMP WITH TIME ZONE NOT NULL,
    test_session_id INTEGER,
    CONSTRAINT user_questions_pkey PRIMARY KEY (id),
    CONSTRAINT user_questions_user_id_fkey FOREIGN KEY (user_id)
        REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT user_questions_question_id_fkey FOREIGN KEY (question_id)
        REFERENCES questions (id) ON DELETE CASCADE,
    CONSTRAINT user_questions_test_session_id_fkey FOREIGN KEY (test_session_id)
        REFERENCES test_sessions (id) ON DELETE CASCADE,
    CONSTRAINT uq_user_question UNIQUE (user_id, question_id)
);
CREATE INDEX ix_user_questions_id ON user_questions (id);
CREATE INDEX ix_user_questions_user_id ON user_questions (user_id);
CREATE INDEX ix_user_questions_test_session_id ON user_questions (test_session_id);

-- §3.6
CREATE TABLE responses (
    id SERIAL NOT NULL,
    test_session_id INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    question_id INTEGER NOT NULL,
    user_answer VARCHAR(500) NOT NULL,
    is_correct BOOLEAN NOT NULL,
    answered_at TIMESTAMP WITH TIME ZONE NOT NULL,
    time_spent_seconds INTEGER,
    CONSTRAINT responses_pkey PRIMARY KEY (id),
    CONSTRAINT responses_test_session_id_fkey FOREIGN KEY (test_session_id)
        REFERENCES test_sessions (id) ON DELETE CASCADE,
    CONSTRAINT responses_user_id_fkey FOREIGN KEY (user_id)
        REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT responses_question_id_fkey FOREIGN KEY (question_id)
        REFERENCES questions (id) ON DELETE CASCADE,
    CONSTRAINT uq_response_session_question UNIQUE (test_session_id, question_id)
);
CREATE INDEX ix_responses_id ON responses (id);
CREATE INDEX ix_responses_test_session_id ON responses (test_session_id);
CREATE INDEX ix_responses_question_id ON responses (question_id);
CREATE INDEX ix_responses_session_id_answered_at ON responses (test_session_id, answered_at);

-- §3.7
CREATE TABLE test_results (
    id SERIAL NOT NULL,
    test_session_id INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    iq_score INTEGER NOT NULL,
    total_questions INTEGER NOT NULL,
    correct_answers INTEGER NOT NULL,
    completion_time_seconds INTEGER,
    completed_at TIMESTAMP WITH TIME ZONE NOT NULL,
    percentile_rank DOUBLE PRECISION,
    standard_error DOUBLE PRECISION,
    ci_lower INTEGER,
    ci_upper INTEGER,
    response_time_flags JSON,
    validity_status VARCHAR(20) NOT NULL DEFAULT 'valid',
    validity_flags JSON,
    validity_checked_at TIMESTAMP WITH TIME ZONE,
    validity_override_reason TEXT,
    validity_overridden_at TIMESTAMP WITH TIME ZONE,
    validity_overridden_by INTEGER,
    domain_scores JSON,
    theta_estimate DOUBLE PRECISION,
    theta_se DOUBLE PRECISION,
    scoring_method VARCHAR(10) NOT NULL DEFAULT 'ctt',
    CONSTRAINT test_results_pkey PRIMARY KEY (id),
    CONSTRAINT test_results_test_session_id_fkey FOREIGN KEY (test_session_id)
        REFERENCES test_sessions (id) ON DELETE CASCADE,
    CONSTRAINT test_results_user_id_fkey FOREIGN KEY (user_id)
        REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT test_results_test_session_id_key UNIQUE (test_session_id),
    CONSTRAINT ck_test_results_validity_overridden_by_non_negative
        CHECK (validity_overridden_by IS NULL OR validity_overridden_by >= 0)
);
CREATE INDEX ix_test_results_id ON test_results (id);
CREATE INDEX ix_test_results_user_id ON test_results (user_id);
CREATE INDEX ix_test_results_validity_status ON test_results (validity_status);
CREATE INDEX ix_test_results_user_completed ON test_results (user_id, completed_at DESC);
CREATE INDEX idx_test_results_theta ON test_results (theta_estimate)
    WHERE theta_estimate IS NOT NULL;

-- §3.8
CREATE TABLE shadow_cat_results (
    id SERIAL NOT NULL,
    test_session_id INTEGER NOT NULL,
    shadow_theta DOUBLE PRECISION NOT NULL,
    shadow_se DOUBLE PRECISION NOT NULL,
    shadow_iq INTEGER NOT NULL,
    items_administered INTEGER NOT NULL,
    administered_question_ids JSON NOT NULL,
    stopping_reason TEXT NOT NULL,
    actual_iq INTEGER NOT NULL,
    theta_iq_delta DOUBLE PRECISION NOT NULL,
    theta_history JSON,
    se_history JSON,
    domain_coverage JSON,
    executed_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
    execution_time_ms INTEGER,
    CONSTRAINT shadow_cat_results_pkey PRIMARY KEY (id),
    CONSTRAINT shadow_cat_results_test_session_id_fkey FOREIGN KEY (test_session_id)
        REFERENCES test_sessions (id) ON DELETE CASCADE,
    CONSTRAINT shadow_cat_results_test_session_id_key UNIQUE (test_session_id)
);
CREATE INDEX idx_shadow_cat_results_executed_at ON shadow_cat_results (executed_at);
CREATE INDEX idx_shadow_cat_results_delta ON shadow_cat_results (theta_iq_delta);
CREATE INDEX idx_shadow_cat_results_test_session_id ON shadow_cat_results (test_session_id);
CREATE INDEX ix_shadow_cat_results_id ON shadow_cat_results (id);

-- §3.9
CREATE TABLE groups (
    id SERIAL NOT NULL,
    name VARCHAR(30) NOT NULL,
    created_by INTEGER NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    invite_code VARCHAR(8) NOT NULL,
    max_members INTEGER NOT NULL,
    CONSTRAINT groups_pkey PRIMARY KEY (id),
    CONSTRAINT groups_created_by_fkey FOREIGN KEY (created_by)
        REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT groups_invite_code_key UNIQUE (invite_code)
);

-- §3.10
CREATE TABLE group_memberships (
    id SERIAL NOT NULL,
    group_id INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    role VARCHAR(10) NOT NULL,
    joined_at TIMESTAMP WITH TIME ZONE NOT NULL,
    CONSTRAINT group_memberships_pkey PRIMARY KEY (id),
    CONSTRAINT group_memberships_group_id_fkey FOREIGN KEY (group_id)
        REFERENCES groups (id) ON DELETE CASCADE,
    CONSTRAINT group_memberships_user_id_fkey FOREIGN KEY (user_id)
        REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT uq_group_membership_group_user UNIQUE (group_id, user_id)
);
CREATE INDEX ix_group_memberships_user_id ON group_memberships (user_id);

-- §3.11
CREATE TABLE group_invites (
    id SERIAL NOT NULL,
    group_id INTEGER NOT NULL,
    invited_by INTEGER NOT NULL,
    invite_code VARCHAR(8) NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    expires_at TIMESTAMP WITH TIME ZONE NOT NULL,
    accepted_by INTEGER,
    accepted_at TIMESTAMP WITH TIME ZONE,
    CONSTRAINT group_invites_pkey PRIMARY KEY (id),
    CONSTRAINT group_invites_group_id_fkey FOREIGN KEY (group_id)
        REFERENCES groups (id) ON DELETE CASCADE,
    CONSTRAINT group_invites_invited_by_fkey FOREIGN KEY (invited_by)
        REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT group_invites_accepted_by_fkey FOREIGN KEY (accepted_by)
        REFERENCES users (id) ON DELETE SET NULL,
    CONSTRAINT group_invites_invite_code_key UNIQUE (invite_code)
);

-- §3.12
CREATE TABLE feedback_submissions (
    id SERIAL NOT NULL,
    user_id INTEGER,
    name VARCHAR(100) NOT NULL,
    email VARCHAR(255) NOT NULL,
    category feedbackcategory NOT NULL,
    description TEXT NOT NULL,
    app_version VARCHAR(20),
    ios_version VARCHAR(50),
    device_id VARCHAR(100),
    ip_address VARCHAR(45),
    status feedbackstatus NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    CONSTRAINT feedback_submissions_pkey PRIMARY KEY (id),
    CONSTRAINT feedback_submissions_user_id_fkey FOREIGN KEY (user_id)
        REFERENCES users (id) ON DELETE SET NULL
);
COMMENT ON COLUMN feedback_submissions.ip_address IS
    'Deprecated: no longer written since 2026-01-09; only older rows hold an address';
CREATE INDEX ix_feedback_submissions_id ON feedback_submissions (id);
CREATE INDEX ix_feedback_submissions_user_id ON feedback_submissions (user_id);
CREATE INDEX ix_feedback_submissions_email ON feedback_submissions (email);
CREATE INDEX ix_feedback_submissions_created_at ON feedback_submissions (created_at);
CREATE INDEX ix_feedback_submissions_category_created
    ON feedback_submissions (category, created_at);
CREATE INDEX ix_feedback_submissions_status_created ON feedback_submissions (status, created_at);

-- §3.13
CREATE TABLE client_analytics_events (
    id SERIAL NOT NULL,
    event_name VARCHAR(100) NOT NULL,
    client_timestamp TIMESTAMP WITH TIME ZONE NOT NULL,
    received_at TIMESTAMP WITH TIME ZONE NOT NULL,
    user_id INTEGER,
    properties JSON,
    client_platform VARCHAR(20) NOT NULL,
    app_version VARCHAR(20) NOT NULL,
    device_id VARCHAR(100),
    CONSTRAINT client_analytics_events_pkey PRIMARY KEY (id),
    CONSTRAINT client_analytics_events_user_id_fkey FOREIGN KEY (user_id)
        REFERENCES users (id) ON DELETE SET NULL
);
CREATE INDEX ix_cae_event_received ON client_analytics_events (event_name, received_at);
CREATE INDEX ix_cae_user_received ON client_analytics_events (user_id, received_at);
CREATE INDEX ix_client_analytics_events_client_timestamp
    ON client_analytics_events (client_timestamp);
CREATE INDEX ix_client_analytics_events_event_name ON client_analytics_events (event_name);
CREATE INDEX ix_client_analytics_events_id ON client_analytics_events (id);
CREATE INDEX ix_client_analytics_events_received_at ON client_analytics_events (received_at);
CREATE INDEX ix_client_analytics_events_user_id ON client_analytics_events (user_id);

-- §3.14
CREATE TABLE system_config (
    key VARCHAR(100) NOT NULL,
    value JSON NOT NULL,
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL,
    CONSTRAINT system_config_pkey PRIMARY KEY (key)
);

-- §3.15
CREATE TABLE reliability_metrics (
    id SERIAL NOT NULL,
    metric_type VARCHAR(50) NOT NULL,
    value DOUBLE PRECISION NOT NULL,
    sample_size INTEGER NOT NULL,
    calculated_at TIMESTAMP WITH TIME ZONE NOT NULL,
    details JSON,
    CONSTRAINT reliability_metrics_pkey PRIMARY KEY (id)
);
CREATE INDEX ix_reliability_metrics_calculated_at ON reliability_metrics (calculated_at);
CREATE INDEX ix_reliability_metrics_id ON reliability_metrics (id);
CREATE INDEX ix_reliability_metrics_metric_type ON reliability_metrics (metric_type);
CREATE INDEX ix_reliability_metrics_type_date ON reliability_metrics (metric_type, calculated_at);

-- §3.16
CREATE TABLE password_reset_tokens (
    id SERIAL NOT NULL,
    user_id INTEGER NOT NULL,
    token VARCHAR(255) NOT NULL,
    expires_at TIMESTAMP WITH TIME ZONE NOT NULL,
    used_at TIMESTAMP WITH TIME ZONE,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    CONSTRAINT password_reset_tokens_pkey PRIMARY KEY (id),
    CONSTRAINT password_reset_tokens_user_id_fkey FOREIGN KEY (user_id)
        REFERENCES users (id) ON DELETE CASCADE
);
CREATE INDEX ix_password_reset_tokens_id ON password_reset_tokens (id);
CREATE UNIQUE INDEX ix_password_reset_tokens_token ON password_reset_tokens (token);
CREATE INDEX ix_password_reset_tokens_user_id ON password_reset_tokens (user_id);
CREATE INDEX ix_password_reset_tokens_expires_at ON password_reset_tokens (expires_at);
CREATE INDEX ix_password_reset_tokens_user_expires ON password_reset_tokens (user_id, expires_at);
CREATE INDEX ix_password_reset_tokens_token_expires ON password_reset_tokens (token, expires_at);
CREATE INDEX ix_password_reset_tokens_user_used ON password_reset_tokens (user_id, used_at);

-- §3.17 (no ix_..._id index on this one)
CREATE TABLE guest_device_limits (
    id SERIAL NOT NULL,
    device_id VARCHAR(255) NOT NULL,
    tests_taken INTEGER NOT NULL DEFAULT 0,
    first_test_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
    last_test_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
    CONSTRAINT guest_device_limits_pkey PRIMARY KEY (id)
);
CREATE UNIQUE INDEX ix_guest_device_limits_device_id ON guest_device_limits (device_id);

