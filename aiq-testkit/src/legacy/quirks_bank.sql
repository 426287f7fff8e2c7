-- Quirk rows, part 2: the item bank (written by the question-service), admin content, config
-- and the operational logs. Runs after quirks_people.sql.

-- An ordinary bank of 60 items, 1001-1060: domains cycle PATTERN..MEMORY, difficulties change
-- every 6 ids (EASY, MEDIUM, HARD, EASY, ...). Options are 4 numbers; the correct one is
-- option (id % 4). Items whose id is a multiple of 10 are not IRT-calibrated.
INSERT INTO questions (
    id, question_text, question_type, difficulty_level, correct_answer, answer_options,
    explanation, metadata, source_llm, judge_score, created_at, is_active, empirical_difficulty,
    discrimination, response_count, irt_difficulty, irt_discrimination, prompt_version,
    quality_flag, source_model, sub_type, is_anchor, irt_calibrated_at, irt_se_difficulty,
    irt_se_discrimination, irt_calibration_n, irt_information_peak
)
SELECT n,
    format('**Item %s** (%s): which value completes the sequence?', n, lower(t::text)),
    t, d,
    (10 + n % 7 + 3 * (n % 4))::text,
    json_build_array((10 + n % 7)::text, (13 + n % 7)::text, (16 + n % 7)::text,
        (19 + n % 7)::text),
    'Each step adds three.',
    CASE WHEN n % 2 = 0 THEN '{}'::json ELSE
        '{"evaluation_scores": {"clarity_score": 0.9, "difficulty_score": 0.7, "validity_score": 0.95, "formatting_score": 0.9, "creativity_score": 0.6, "feedback": "Clear and unambiguous."}, "judge_model": "gpt-4o"}'::json
    END,
    (ARRAY['openai', 'anthropic', 'google', 'xai'])[n % 4 + 1],
    0.7 + (n % 5) * 0.05,
    now() - interval '500 days' + n * interval '1 minute',
    true,
    round((0.8 - 0.25 * di)::numeric, 2)::float8,
    0.2 + (n % 6) * 0.05,
    100 + n % 50,
    CASE WHEN n % 10 <> 0 THEN -1.5 + 1.5 * di + (n % 5 - 2) * 0.1 END,
    CASE WHEN n % 10 <> 0 THEN 0.8 + (n % 7) * 0.15 END,
    '2.1', 'normal',
    (ARRAY['gpt-4-turbo', 'claude-3-5-sonnet', 'gemini-1.5-pro', 'grok-2'])[n % 4 + 1],
    'arithmetic progression', false,
    CASE WHEN n % 10 <> 0 THEN now() - interval '30 days' END,
    CASE WHEN n % 10 <> 0 THEN 0.18 END,
    CASE WHEN n % 10 <> 0 THEN 0.12 END,
    CASE WHEN n % 10 <> 0 THEN 240 + n % 30 END,
    CASE WHEN n % 10 <> 0 THEN 0.3 + (n % 7) * 0.05 END
FROM generate_series(1001, 1060) AS n,
    LATERAL (SELECT (n - 1001) / 6 % 3 AS di) AS k,
    LATERAL (SELECT
        (ARRAY['PATTERN', 'LOGIC', 'SPATIAL', 'MATH', 'VERBAL', 'MEMORY']::questiontype[])[(n - 1001) % 6 + 1] AS t,
        (ARRAY['EASY', 'MEDIUM', 'HARD']::difficultylevel[])[di + 1] AS d) AS e;

-- Special items, one quirk each (id 16 is a gap). Columns not listed take their defaults and
-- are set by the UPDATEs below.
INSERT INTO questions (
    id, question_text, question_type, difficulty_level, correct_answer, answer_options,
    explanation, metadata, source_llm, judge_score, created_at, is_active, response_count,
    prompt_version, source_model
) VALUES
(1, 'quirk legacy-object-options: which colour name starts with A?', 'VERBAL', 'EASY', 'Amber',
    '{"B": "Blue", "A": "Amber"}', NULL, '{}', 'openai', 0.8, now() - interval '720 days', true,
    40, '1.0', 'gpt-4'),
(2, 'quirk free-response-json-null: what is six times seven?', 'MATH', 'MEDIUM', '42',
    'null', NULL, '{}', 'anthropic', 0.85, now() - interval '600 days', true, 12, '2.0',
    'claude-3-opus'),
(3, 'quirk free-response-sql-null: spell the number 7 in words.', 'MATH', 'EASY', 'seven',
    NULL, NULL, '{}', 'google', 0.75, now() - interval '590 days', true, 9, '2.0',
    'gemini-1.5-pro'),
(4, 'quirk response-count-null and metadata json null: never answered.', 'LOGIC', 'MEDIUM',
    'True', '["True", "False"]', NULL, 'null', 'xai', 0.9, now() - interval '10 days', true,
    NULL, '2.1', 'grok-2'),
(5, 'quirk prompt-version-null and metadata sql null.', 'PATTERN', 'HARD', '21',
    '["13", "21", "34", "55"]', NULL, NULL, 'openai', 0.7, now() - interval '800 days', true,
    77, NULL, 'gpt-4'),
(6, 'quirk is-active-false: retired by an auditor.', 'SPATIAL', 'EASY', 'Cube',
    '["Cube", "Sphere", "Cone", "Pyramid"]', NULL, '{}', 'openai', 0.6,
    now() - interval '700 days', false, 310, '1.0', 'gpt-4'),
(7, 'quirk quality-flag-under-review: negative discrimination.', 'LOGIC', 'HARD', 'Some',
    '["All", "Some", "None", "Cannot tell"]', NULL, '{}', 'anthropic', 0.8,
    now() - interval '650 days', true, 64, '2.0', 'claude-3-opus'),
(8, 'quirk quality-flag-deactivated.', 'PATTERN', 'MEDIUM', '8',
    '["2", "4", "8", "16"]', NULL, '{}', 'google', 0.65, now() - interval '640 days', true, 88,
    '2.0', 'gemini-1.5-pro'),
(9, 'quirk is-anchor-true: a curated anchor item.', 'SPATIAL', 'MEDIUM', 'Left',
    '["Left", "Right", "Up", "Down"]', NULL, '{}', 'openai', 0.95, now() - interval '630 days',
    true, 250, '2.0', 'gpt-4-turbo'),
(10, 'quirk irt-calibrated: fully calibrated hard item used by CAT.', 'MATH', 'HARD', '144',
    '["121", "132", "144", "156"]', NULL, '{}', 'anthropic', 0.9, now() - interval '620 days',
    true, 410, '2.1', 'claude-3-5-sonnet'),
(11, 'quirk question-embedding: float8[] vector (shortened).', 'VERBAL', 'MEDIUM', 'Benevolent',
    '["Benevolent", "Malevolent", "Indifferent", "Hostile"]', NULL, '{}', 'openai', 0.85,
    now() - interval '610 days', true, 150, '2.1', 'gpt-4o'),
(12, 'quirk metadata-evaluation-scores: a regenerated item.', 'LOGIC', 'EASY', 'Tuesday',
    '["Monday", "Tuesday", "Wednesday", "Thursday"]', NULL,
    '{"evaluation_scores": {"clarity_score": 0.92, "difficulty_score": 0.55, "validity_score": 0.97, "formatting_score": 0.9, "creativity_score": 0.61, "feedback": "Good distractors; wording tightened."}, "judge_model": "gpt-4o", "regenerated": true, "original_question": "If yesterday was Monday, what day is it today? (first draft with an ambiguous clause about the calendar", "regeneration_reason": "judge_feedback"}',
    'openai', 0.88, now() - interval '600 days', true, 199, '2.1', 'gpt-4o'),
(13, 'quirk distractor-stats: per-option counts and quartiles.', 'PATTERN', 'EASY', 'Circle',
    '["Circle", "Square", "Triangle", "Star"]', NULL, '{}', 'xai', 0.7,
    now() - interval '590 days', true, 95, '2.1', 'grok-2'),
(14, 'quirk original-difficulty-level: recalibrated from MEDIUM to HARD.', 'SPATIAL', 'HARD',
    '270', '["90", "180", "270", "360"]', NULL, '{}', 'google', 0.8,
    now() - interval '580 days', true, 180, '2.1', 'gemini-1.5-pro'),
(15, 'quirk html-escaped-answer: which pair is a cartoon duo?', 'VERBAL', 'EASY', 'Tom & Jerry',
    '["Tom & Jerry", "Bonnie & Clyde", "Romeo & Juliet", "Salt & Pepper"]', NULL, '{}',
    'anthropic', 0.82, now() - interval '570 days', true, 60, '2.1', 'claude-3-5-sonnet'),
(17, 'quirk html-escaped-answer: which HTML tag makes text bold?', 'VERBAL', 'MEDIUM', '<b>',
    '["<b>", "<i>", "<u>", "<s>"]', NULL, '{}', 'openai', 0.8, now() - interval '560 days',
    true, 45, '2.1', 'gpt-4o'),
(18, 'quirk html-escaped-answer: which answer is quoted?', 'LOGIC', 'MEDIUM', '"x"',
    '["\"x\"", "\"y\"", "x", "y"]', NULL, '{}', 'openai', 0.72, now() - interval '550 days',
    true, 33, '2.1', 'gpt-4o'),
(19, 'quirk memory-stimulus and last-audited-at: which word was second?', 'MEMORY', 'EASY',
    'River', '["Stone", "River", "Cloud", "Ember"]', NULL, '{}', 'google', 0.78,
    now() - interval '540 days', true, 70, '2.1', 'gemini-1.5-pro');

UPDATE questions SET quality_flag = 'under_review',
    quality_flag_reason = 'Negative discrimination (-0.12) with 64 responses',
    quality_flag_updated_at = now() - interval '40 days', discrimination = -0.12,
    empirical_difficulty = 0.41
WHERE id = 7;
UPDATE questions SET quality_flag = 'deactivated', quality_flag_reason = 'Two defensible answers',
    quality_flag_updated_at = now() - interval '35 days'
WHERE id = 8;
UPDATE questions SET is_anchor = true, anchor_designated_at = now() - interval '300 days'
WHERE id = 9;
UPDATE questions SET irt_difficulty = 1.35, irt_discrimination = 1.42,
    irt_se_difficulty = 0.11, irt_se_discrimination = 0.09, irt_calibration_n = 410,
    irt_information_peak = 0.51, irt_calibrated_at = now() - interval '30 days',
    empirical_difficulty = 0.31, discrimination = 0.44
WHERE id = 10;
UPDATE questions SET question_embedding = ARRAY[0.0123, -0.0456, 0.0789, 0.0012, -0.1534,
    0.0991, 0.0305, -0.0077]::float8[]
WHERE id = 11;
UPDATE questions SET distractor_stats =
    '{"Circle": {"count": 61, "top_q": 20, "bottom_q": 9}, "Square": {"count": 21, "top_q": 2, "bottom_q": 11}, "Star": {"count": 13, "top_q": 1, "bottom_q": 6}}'
WHERE id = 13;
UPDATE questions SET original_difficulty_level = 'MEDIUM',
    difficulty_recalibrated_at = now() - interval '90 days', empirical_difficulty = 0.28
WHERE id = 14;
UPDATE questions SET stimulus = 'Stone, River, Cloud, Ember', sub_type = 'word list recall',
    inferred_sub_type = 'sequential recall',
    last_audited_at = (now() AT TIME ZONE 'UTC') - interval '15 days'
WHERE id = 19;
UPDATE questions SET inferred_sub_type = 'legacy colour naming' WHERE id = 1;

-- Benchmark sets (admin-curated).
INSERT INTO benchmark_sets (id, name, description, is_active, created_at, updated_at) VALUES
(701, 'quirk core benchmark', 'Three fixed items for LLM runs', true,
    now() - interval '100 days', now() - interval '50 days'),
(703, 'quirk retired benchmark', NULL, false, now() - interval '300 days',
    now() - interval '200 days');
INSERT INTO benchmark_set_questions (id, benchmark_set_id, question_id, position, added_at) VALUES
(711, 701, 1001, 1, now() - interval '100 days'),
(712, 701, 1002, 2, now() - interval '100 days'),
(714, 701, 10, 3, now() - interval '60 days'),
(716, 703, 6, 1, now() - interval '300 days');

-- system_config: the two admin keys, the derived readiness report and the hand-made stats.
INSERT INTO system_config (key, value, updated_at) VALUES
('domain_weights',
    '{"pattern": 0.2, "logic": 0.18, "verbal": 0.16, "spatial": 0.16, "math": 0.18, "memory": 0.12}',
    now() - interval '200 days'),
('use_weighted_scoring', '{"enabled": true}', now() - interval '200 days'),
('cat_readiness',
    '{"enabled": true, "is_globally_ready": false, "evaluated_at": "2026-11-29T03:00:00.412093+00:00", "thresholds": {"min_calibrated_items_per_domain": 30, "max_se_difficulty": 0.5, "max_se_discrimination": 0.5, "min_items_per_difficulty_band": 5}, "domains": [{"domain": "pattern", "is_ready": true, "total_calibrated": 34, "well_calibrated": 31, "easy_count": 11, "medium_count": 12, "hard_count": 11, "reasons": []}, {"domain": "logic", "is_ready": false, "total_calibrated": 12, "well_calibrated": 10, "easy_count": 5, "medium_count": 4, "hard_count": 3, "reasons": ["Only 12 calibrated items (need 30)", "Only 3 hard items (need 5)"]}, {"domain": "spatial", "is_ready": false, "total_calibrated": 9, "well_calibrated": 9, "easy_count": 4, "medium_count": 3, "hard_count": 2, "reasons": ["Only 9 calibrated items (need 30)"]}, {"domain": "math", "is_ready": false, "total_calibrated": 11, "well_calibrated": 8, "easy_count": 4, "medium_count": 4, "hard_count": 3, "reasons": ["Only 11 calibrated items (need 30)"]}, {"domain": "verbal", "is_ready": false, "total_calibrated": 10, "well_calibrated": 10, "easy_count": 4, "medium_count": 3, "hard_count": 3, "reasons": ["Only 10 calibrated items (need 30)"]}, {"domain": "memory", "is_ready": false, "total_calibrated": 9, "well_calibrated": 7, "easy_count": 3, "medium_count": 3, "hard_count": 3, "reasons": ["Only 9 calibrated items (need 30)"]}], "summary": "1/6 domains ready for CAT"}',
    now() - interval '8 days'),
('domain_population_stats',
    '{"pattern": {"mean_accuracy": 0.62, "sd_accuracy": 0.18}, "logic": {"mean_accuracy": 0.58, "sd_accuracy": 0.2}, "verbal": {"mean_accuracy": 0.66, "sd_accuracy": 0.17}, "spatial": {"mean_accuracy": 0.51, "sd_accuracy": 0.21}, "math": {"mean_accuracy": 0.55, "sd_accuracy": 0.22}, "memory": {"mean_accuracy": 0.6, "sd_accuracy": 0.19}}',
    now() - interval '250 days');

-- Reliability history, one row per metric type.
INSERT INTO reliability_metrics (id, metric_type, value, sample_size, calculated_at, details) VALUES
(961, 'cronbachs_alpha', 0.74, 1200, now() - interval '60 days',
    '{"interpretation": "acceptable", "meets_threshold": true, "num_items": 25}'),
(962, 'test_retest', 0.68, 140, now() - interval '60 days',
    '{"interpretation": "questionable", "meets_threshold": false, "mean_interval_days": 97.4, "practice_effect": 2.1}'),
(964, 'split_half', 0.79, 1200, now() - interval '59 days',
    '{"interpretation": "acceptable", "meets_threshold": true, "raw_correlation": 0.653}');

-- LLM benchmark: a completed stratified run and a failed fixed-set run (temperature never set).
INSERT INTO llm_test_sessions (
    id, vendor, model_id, status, started_at, completed_at, total_prompt_tokens,
    total_completion_tokens, total_cost_usd, temperature, triggered_by, composition_metadata
) VALUES
(971, 'openai', 'gpt-4o', 'completed', now() - interval '45 days',
    now() - interval '45 days' + interval '3 minutes', 1830, 412, 0.0142, NULL, 'manual',
    '{"difficulty": {"easy": 1, "medium": 1}, "domain": {"pattern": 1, "logic": 1}, "total": 2}'),
(972, 'anthropic', 'claude-3-5-sonnet', 'failed', now() - interval '44 days',
    now() - interval '44 days' + interval '1 minute', NULL, NULL, NULL, NULL, 'manual',
    '{"mode": "fixed_set", "question_ids": [1001]}');
INSERT INTO llm_responses (
    id, session_id, question_id, raw_answer, normalized_answer, is_correct, prompt_tokens,
    completion_tokens, cost_usd, latency_ms, error, answered_at
)
SELECT v.id, v.sid, v.qid, v.raw || q.correct_answer || v.raw_tail,
    CASE WHEN v.ok THEN q.correct_answer ELSE v.wrong END, v.ok, v.pt, v.ct, v.cost, v.ms, NULL,
    now() - interval '45 days' + v.secs * interval '1 second'
FROM (VALUES
    (981, 971, 1001, true, 'The answer is ', '.', NULL, 915, 206, 0.0071, 2310, 40),
    (982, 971, 1007, false, 'I am unsure; perhaps not ', '.', '99', 915, 206, 0.0071, 2875, 95)
) AS v(id, sid, qid, ok, raw, raw_tail, wrong, pt, ct, cost, ms, secs)
JOIN questions q ON q.id = v.qid;
INSERT INTO llm_responses (
    id, session_id, question_id, raw_answer, normalized_answer, is_correct, prompt_tokens,
    completion_tokens, cost_usd, latency_ms, error, answered_at
) VALUES
(984, 972, 1001, NULL, NULL, NULL, NULL, NULL, NULL, 30000, 'provider timeout after 30s',
    now() - interval '44 days' + interval '40 seconds');
INSERT INTO llm_test_results (
    id, session_id, vendor, model_id, iq_score, percentile_rank, total_questions,
    correct_answers, domain_scores, completed_at
) VALUES
(991, 971, 'openai', 'gpt-4o', 100, 50.0, 2, 1,
    '{"pattern": {"correct": 1, "total": 1, "pct": 100.0}, "logic": {"correct": 0, "total": 1, "pct": 0.0}, "spatial": {"correct": 0, "total": 0, "pct": null}, "math": {"correct": 0, "total": 0, "pct": null}, "verbal": {"correct": 0, "total": 0, "pct": null}, "memory": {"correct": 0, "total": 0, "pct": null}}',
    now() - interval '45 days' + interval '3 minutes'),
(992, 972, 'anthropic', 'claude-3-5-sonnet', NULL, NULL, 1, 0, NULL,
    now() - interval '44 days' + interval '1 minute');

-- Question-generation runs: lowercase generationrunstatus; metrics as objects, JSON null and
-- SQL NULL.
INSERT INTO question_generation_runs (
    id, started_at, completed_at, duration_seconds, status, exit_code, questions_requested,
    questions_generated, generation_failures, generation_success_rate, questions_evaluated,
    questions_approved, questions_rejected, approval_rate, avg_judge_score, min_judge_score,
    max_judge_score, duplicates_found, exact_duplicates, semantic_duplicates, duplicate_rate,
    questions_inserted, insertion_failures, overall_success_rate, total_errors, total_api_calls,
    provider_metrics, type_metrics, difficulty_metrics, error_summary, prompt_version,
    judge_config_version, min_judge_score_threshold, environment, triggered_by, created_at,
    client_run_id, total_cost_usd, total_input_tokens, total_output_tokens, cost_by_provider
) VALUES
(1101, now() - interval '60 days', now() - interval '60 days' + interval '842.5 seconds', 842.5,
    'success', 0, 50, 48, 2, 0.96, 48, 40, 8, 0.833, 0.81, 0.52, 0.97, 3, 1, 2, 0.075, 37, 0,
    0.74, 2, 112,
    '{"openai": {"generated": 25, "api_calls": 60, "failures": 0}, "anthropic": {"generated": 23, "api_calls": 52, "failures": 0}}',
    '{"pattern": 9, "logic": 8, "spatial": 8, "math": 8, "verbal": 8, "memory": 7, "analogy": 0}',
    '{"easy": 16, "medium": 16, "hard": 16}',
    '{"by_category": {"rate_limit": 2}, "by_severity": {"low": 2}, "critical_count": 0}',
    '2.1', 'judge-v3', 0.7, 'production', 'scheduler', now() - interval '60 days',
    'run-20261008-030000-a1b2c3', 1.8341, 412000, 98000,
    '{"openai": {"total_calls": 60, "total_input_tokens": 220000, "total_output_tokens": 51000, "total_tokens": 271000, "total_cost_usd": 1.02, "cost_by_model": {"gpt-4o": 1.02}, "tokens_by_model": {"gpt-4o": 271000}}}'),
(1102, now() - interval '50 days', now() - interval '50 days' + interval '12 seconds', 12.0,
    'failed', 1, 50, 0, 50, 0.0, 0, 0, 0, NULL, NULL, NULL, NULL, 0, 0, 0, NULL, 0, 0, 0.0, 1,
    3, 'null', 'null', 'null', 'null', '2.1', 'judge-v3', 0.7, 'production', 'scheduler',
    now() - interval '50 days', NULL, NULL, NULL, NULL, 'null'),
(1103, now() - interval '5 minutes', NULL, NULL, 'running', NULL, 30, 0, 0, NULL, 0, 0, 0,
    NULL, NULL, NULL, NULL, 0, 0, 0, NULL, 0, 0, NULL, 0, 0, NULL, NULL, NULL, NULL, '2.2',
    NULL, NULL, 'staging', 'manual', now() - interval '5 minutes',
    'run-20261207-035500-ffee00', NULL, NULL, NULL, NULL),
(1104, now() - interval '40 days', now() - interval '40 days' + interval '600 seconds', 600.0,
    'partial_failure', 0, 40, 30, 10, 0.75, 30, 20, 10, 0.667, 0.74, 0.4, 0.93, 1, 1, 0,
    0.033, 19, 1, 0.475, 11, 80, '{"google": {"generated": 30, "api_calls": 80, "failures": 0}}',
    '{"math": 30}', '{"easy": 10, "medium": 10, "hard": 10}',
    '{"by_category": {"parse_error": 10, "db": 1}, "by_severity": {"medium": 10, "high": 1}, "critical_count": 0}',
    '2.1', 'judge-v3', 0.7, 'development', 'webhook', now() - interval '40 days', NULL, 0.61,
    150000, 40000, NULL);

-- IRT calibration runs (the cron script).
INSERT INTO irt_calibration_runs (
    id, job_id, status, triggered_by, started_at, completed_at, duration_seconds,
    questions_calibrated, questions_skipped, mean_difficulty, mean_discrimination,
    new_responses_since_last, error_message
) VALUES
(1201, 'irt-cron-20261101', 'completed', 'cron', now() - interval '36 days',
    now() - interval '36 days' + interval '95 seconds', 95.2, 54, 6, 0.04, 1.21, 3400, NULL),
(1202, 'irt-cron-20261108', 'failed', 'cron', now() - interval '29 days',
    now() - interval '29 days' + interval '3 seconds', 3.1, NULL, NULL, NULL, NULL, NULL,
    'convergence failed after 500 iterations'),
(1204, 'irt-manual-20261115', 'skipped', 'manual', now() - interval '22 days',
    now() - interval '22 days', 0.0, 0, 0, NULL, NULL, 12, NULL);

-- §8 objects: audit_runs (script variant, naive UTC wall-clock times, jsonb) and pipeline_runs.
INSERT INTO audit_runs (
    id, started_at, completed_at, duration_seconds, scanned, verified_correct, failed,
    deactivated, skipped, errors, total_cost_usd, total_input_tokens, total_output_tokens,
    cost_by_provider
) VALUES
(1301, (now() AT TIME ZONE 'UTC') - interval '15 days',
    (now() AT TIME ZONE 'UTC') - interval '15 days' + interval '310 seconds', 310.4, 60, 57, 3,
    1, 0, 0, 0.42, 90000, 12000,
    '{"anthropic": {"total_calls": 60, "total_input_tokens": 90000, "total_output_tokens": 12000, "total_tokens": 102000, "total_cost_usd": 0.42, "cost_by_model": {"claude-3-5-sonnet": 0.42}, "tokens_by_model": {"claude-3-5-sonnet": 102000}}}');
INSERT INTO pipeline_runs (
    id, pipeline_type, started_at, completed_at, duration_seconds, total_cost_usd,
    total_input_tokens, total_output_tokens, cost_by_provider, result_summary
) VALUES
(1311, 'generation', (now() AT TIME ZONE 'UTC') - interval '60 days',
    (now() AT TIME ZONE 'UTC') - interval '60 days' + interval '842 seconds', 842.0, 1.83,
    412000, 98000, '{"openai": {"total_cost_usd": 1.02}}', '{"inserted": 37, "rejected": 8}');
