-- Second half of the old schema: the operational, LLM-benchmark and benchmark-set tables
-- (§3.18-§3.26), the objects outside alembic (§8) and the sentinel guest user (§5.1).
-- Runs after schema.sql in the same batch.

-- §3.18 (the NOT NULL counters have no DB default)
CREATE TABLE question_generation_runs (
    id SERIAL NOT NULL,
    started_at TIMESTAMP WITH TIME ZONE NOT NULL,
    completed_at TIMESTAMP WITH TIME ZONE,
    duration_seconds DOUBLE PRECISION,
    status generationrunstatus NOT NULL,
    exit_code INTEGER,
    questions_requested INTEGER NOT NULL,
    questions_generated INTEGER NOT NULL,
    generation_failures INTEGER NOT NULL,
    generation_success_rate DOUBLE PRECISION,
    questions_evaluated INTEGER NOT NULL,
    questions_approved INTEGER NOT NULL,
    questions_rejected INTEGER NOT NULL,
    approval_rate DOUBLE PRECISION,
    avg_judge_score DOUBLE PRECISION,
    min_judge_score DOUBLE PRECISION,
    max_judge_score DOUBLE PRECISION,
    duplicates_found INTEGER NOT NULL,
    exact_duplicates INTEGER NOT NULL,
    semantic_duplicates INTEGER NOT NULL,
    duplicate_rate DOUBLE PRECISION,
    questions_inserted INTEGER NOT NULL,
    insertion_failures INTEGER NOT NULL,
    overall_success_rate DOUBLE PRECISION,
    total_errors INTEGER NOT NULL,
    total_api_calls INTEGER NOT NULL,
    provider_metrics JSON,
    type_metrics JSON,
    difficulty_metrics JSON,
    error_summary JSON,
    prompt_version VARCHAR(50),
    judge_config_version VARCHAR(50),
    min_judge_score_threshold DOUBLE PRECISION,
    environment VARCHAR(20),
    triggered_by VARCHAR(50),
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    client_run_id VARCHAR(100),
    total_cost_usd DOUBLE PRECISION,
    total_input_tokens INTEGER,
    total_output_tokens INTEGER,
    cost_by_provider JSON,
    CONSTRAINT question_generation_runs_pkey PRIMARY KEY (id)
);
CREATE INDEX ix_qgr_environment ON question_generation_runs (environment);
CREATE INDEX ix_qgr_overall_success ON question_generation_runs (overall_success_rate);
CREATE INDEX ix_qgr_started_at ON question_generation_runs (started_at);
CREATE INDEX ix_qgr_status ON question_generation_runs (status);
CREATE INDEX ix_question_generation_runs_id ON question_generation_runs (id);
CREATE UNIQUE INDEX ix_qgr_client_run_id_unique ON question_generation_runs (client_run_id);

-- §3.19
CREATE TABLE irt_calibration_runs (
    id SERIAL NOT NULL,
    job_id VARCHAR(100) NOT NULL,
    status VARCHAR(20) NOT NULL,
    triggered_by VARCHAR(20) NOT NULL,
    started_at TIMESTAMP WITH TIME ZONE NOT NULL,
    completed_at TIMESTAMP WITH TIME ZONE,
    duration_seconds DOUBLE PRECISION,
    questions_calibrated INTEGER,
    questions_skipped INTEGER,
    mean_difficulty DOUBLE PRECISION,
    mean_discrimination DOUBLE PRECISION,
    new_responses_since_last INTEGER,
    error_message TEXT,
    CONSTRAINT irt_calibration_runs_pkey PRIMARY KEY (id),
    CONSTRAINT irt_calibration_runs_job_id_key UNIQUE (job_id)
);
CREATE INDEX ix_irt_calibration_runs_started_at ON irt_calibration_runs (started_at);
CREATE INDEX ix_irt_calibration_runs_status ON irt_calibration_runs (status);
CREATE INDEX ix_irt_calibration_runs_status_completed_at
    ON irt_calibration_runs (status, completed_at);
CREATE INDEX ix_irt_calibration_runs_id ON irt_calibration_runs (id);

-- §3.20 as the question-service script created it (§8): naive timestamps, jsonb costs and an
-- id index. The alembic migration skips the table when it already exists, as in production.
CREATE TABLE audit_runs (
    id SERIAL NOT NULL,
    started_at TIMESTAMP WITHOUT TIME ZONE NOT NULL,
    completed_at TIMESTAMP WITHOUT TIME ZONE NOT NULL,
    duration_seconds DOUBLE PRECISION,
    scanned INTEGER NOT NULL DEFAULT 0,
    verified_correct INTEGER NOT NULL DEFAULT 0,
    failed INTEGER NOT NULL DEFAULT 0,
    deactivated INTEGER NOT NULL DEFAULT 0,
    skipped INTEGER NOT NULL DEFAULT 0,
    errors INTEGER NOT NULL DEFAULT 0,
    total_cost_usd DOUBLE PRECISION,
    total_input_tokens INTEGER,
    total_output_tokens INTEGER,
    cost_by_provider JSONB,
    CONSTRAINT audit_runs_pkey PRIMARY KEY (id)
);
CREATE INDEX ix_audit_runs_id ON audit_runs (id);

-- §3.21 (no ix_..._id index)
CREATE TABLE llm_test_sessions (
    id SERIAL NOT NULL,
    vendor VARCHAR(100) NOT NULL,
    model_id VARCHAR(200) NOT NULL,
    status VARCHAR(20) NOT NULL DEFAULT 'in_progress',
    started_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
    completed_at TIMESTAMP WITH TIME ZONE,
    total_prompt_tokens INTEGER,
    total_completion_tokens INTEGER,
    total_cost_usd DOUBLE PRECISION,
    temperature DOUBLE PRECISION,
    triggered_by VARCHAR(50),
    composition_metadata JSON,
    CONSTRAINT llm_test_sessions_pkey PRIMARY KEY (id)
);
CREATE INDEX ix_llm_test_sessions_vendor ON llm_test_sessions (vendor);
CREATE INDEX ix_llm_test_sessions_model_id ON llm_test_sessions (model_id);
CREATE INDEX ix_llm_test_sessions_status ON llm_test_sessions (status);
CREATE INDEX ix_llm_test_sessions_vendor_model ON llm_test_sessions (vendor, model_id);

-- §3.22
CREATE TABLE llm_responses (
    id SERIAL NOT NULL,
    session_id INTEGER NOT NULL,
    question_id INTEGER NOT NULL,
    raw_answer TEXT,
    normalized_answer VARCHAR(500),
    is_correct BOOLEAN,
    prompt_tokens INTEGER,
    completion_tokens INTEGER,
    cost_usd DOUBLE PRECISION,
    latency_ms INTEGER,
    error TEXT,
    answered_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
    CONSTRAINT llm_responses_pkey PRIMARY KEY (id),
    CONSTRAINT llm_responses_session_id_fkey FOREIGN KEY (session_id)
        REFERENCES llm_test_sessions (id) ON DELETE CASCADE,
    CONSTRAINT llm_responses_question_id_fkey FOREIGN KEY (question_id)
        REFERENCES questions (id) ON DELETE CASCADE,
    CONSTRAINT uq_llm_response_session_question UNIQUE (session_id, question_id)
);
CREATE INDEX ix_llm_responses_session_id ON llm_responses (session_id);
CREATE INDEX ix_llm_responses_question_id ON llm_responses (question_id);
CREATE INDEX ix_llm_responses_session_question ON llm_responses (session_id, question_id);

-- §3.23
CREATE TABLE llm_test_results (
    id SERIAL NOT NULL,
    session_id INTEGER NOT NULL,
    vendor VARCHAR(100) NOT NULL,
    model_id VARCHAR(200) NOT NULL,
    iq_score INTEGER,
    percentile_rank DOUBLE PRECISION,
    total_questions INTEGER NOT NULL,
    correct_answers INTEGER NOT NULL,
    domain_scores JSON,
    completed_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
    CONSTRAINT llm_test_results_pkey PRIMARY KEY (id),
    CONSTRAINT llm_test_results_session_id_fkey FOREIGN KEY (session_id)
        REFERENCES llm_test_sessions (id) ON DELETE CASCADE,
    CONSTRAINT llm_test_results_session_id_key UNIQUE (session_id)
);
CREATE INDEX ix_llm_test_results_vendor ON llm_test_results (vendor);
CREATE INDEX ix_llm_test_results_model_id ON llm_test_results (model_id);
CREATE INDEX ix_llm_test_results_vendor_model ON llm_test_results (vendor, model_id);

-- §3.24
CREATE TABLE benchmark_sets (
    id SERIAL NOT NULL,
    name VARCHAR(200) NOT NULL,
    description TEXT,
    is_active BOOLEAN NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL,
    CONSTRAINT benchmark_sets_pkey PRIMARY KEY (id),
    CONSTRAINT benchmark_sets_name_key UNIQUE (name)
);
CREATE INDEX ix_benchmark_sets_id ON benchmark_sets (id);
CREATE INDEX ix_benchmark_sets_is_active ON benchmark_sets (is_active);

-- §3.25
CREATE TABLE benchmark_set_questions (
    id SERIAL NOT NULL,
    benchmark_set_id INTEGER NOT NULL,
    question_id INTEGER NOT NULL,
    position INTEGER NOT NULL,
    added_at TIMESTAMP WITH TIME ZONE NOT NULL,
    CONSTRAINT benchmark_set_questions_pkey PRIMARY KEY (id),
    CONSTRAINT benchmark_set_questions_benchmark_set_id_fkey FOREIGN KEY (benchmark_set_id)
        REFERENCES benchmark_sets (id) ON DELETE CASCADE,
    CONSTRAINT benchmark_set_questions_question_id_fkey FOREIGN KEY (question_id)
        REFERENCES questions (id) ON DELETE CASCADE,
    CONSTRAINT uq_benchmark_set_question UNIQUE (benchmark_set_id, question_id)
);
CREATE INDEX ix_benchmark_set_questions_id ON benchmark_set_questions (id);
CREATE INDEX ix_benchmark_set_questions_benchmark_set_id
    ON benchmark_set_questions (benchmark_set_id);
CREATE INDEX ix_benchmark_set_questions_question_id ON benchmark_set_questions (question_id);
CREATE INDEX ix_benchmark_set_questions_set_position
    ON benchmark_set_questions (benchmark_set_id, position);

-- §3.26
CREATE TABLE alembic_version (
    version_num VARCHAR(32) NOT NULL,
    CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
);
INSERT INTO alembic_version (version_num) VALUES ('pwdlogin474a');

-- §8: objects that exist outside alembic.
CREATE TABLE pipeline_runs (
    id SERIAL NOT NULL,
    pipeline_type VARCHAR(50) NOT NULL,
    started_at TIMESTAMP WITHOUT TIME ZONE NOT NULL,
    completed_at TIMESTAMP WITHOUT TIME ZONE NOT NULL,
    duration_seconds DOUBLE PRECISION,
    total_cost_usd DOUBLE PRECISION,
    total_input_tokens INTEGER,
    total_output_tokens INTEGER,
    cost_by_provider JSONB,
    result_summary JSONB,
    CONSTRAINT pipeline_runs_pkey PRIMARY KEY (id)
);
CREATE INDEX ix_pipeline_runs_pipeline_type ON pipeline_runs (pipeline_type);
-- Added by hand in production (no migration creates it); a naive timestamp.
ALTER TABLE questions ADD COLUMN last_audited_at TIMESTAMP WITHOUT TIME ZONE;

-- §5.1: the sentinel guest user, inserted by a migration with an explicit id (the sequence is
-- not advanced). Its hash is 63 characters and deliberately never verifies.
INSERT INTO users (
    id, email, password_hash, first_name, last_name, created_at, notification_enabled,
    bypass_cooldown, is_admin, password_login_enabled
) VALUES (
    -1, 'guest@aiq.internal', '$2b$12$' || repeat('X', 56), NULL, NULL, now(), false,
    true, false, true
);
