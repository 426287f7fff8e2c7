-- Quirk rows, part 3: test sessions, the seen set, responses, results and shadow CAT.
-- Runs after quirks_bank.sql. Session ids are 2xx, results 3xx, responses 5xxx, seen rows 7xxx.

-- The fixed-form domain_scores text exactly as the old code's json.dumps wrote it: all six
-- domains in enum order; pct has one decimal and is null when the domain had no item.
CREATE FUNCTION pg_temp.fixed_scores(VARIADIC c int[]) RETURNS json LANGUAGE sql AS $$
    SELECT ('{' || string_agg(format('"%s": {"correct": %s, "total": %s, "pct": %s}', d,
        c[2 * i - 1], c[2 * i],
        CASE WHEN c[2 * i] = 0 THEN 'null'
             ELSE round(100.0 * c[2 * i - 1] / c[2 * i], 1)::text END), ', ' ORDER BY i)
        || '}')::json
    FROM unnest(ARRAY['pattern', 'logic', 'spatial', 'math', 'verbal', 'memory'])
        WITH ORDINALITY AS x(d, i)
$$;

INSERT INTO test_sessions (
    id, user_id, started_at, completed_at, status, composition_metadata, time_limit_exceeded,
    is_adaptive, theta_history, final_theta, final_se, stopping_reason
) VALUES
-- Old fixed-form session without composition metadata (SQL NULL).
(201, 3, now() - interval '400 days', now() - interval '400 days' + interval '12 minutes',
    'COMPLETED', NULL, false, false, NULL, NULL, NULL, NULL),
(202, 3, now() - interval '250 days', now() - interval '250 days' + interval '14 minutes',
    'COMPLETED', '{"difficulty": {"easy": 1, "medium": 6}, "domain": {"pattern": 1, "logic": 1, "spatial": 1, "math": 1, "verbal": 2, "memory": 1}, "total": 7, "anchor_count": 0, "anchors_per_domain": {"pattern": 0, "logic": 0, "spatial": 0, "math": 0, "verbal": 0, "memory": 0}}',
    false, false, NULL, NULL, NULL, NULL),
(205, 5, now() - interval '380 days', now() - interval '380 days' + interval '16 minutes',
    'COMPLETED', '{"difficulty": {"easy": 1, "hard": 6}, "domain": {"pattern": 1, "logic": 1, "spatial": 1, "math": 1, "verbal": 2, "memory": 1}, "total": 7}',
    false, false, NULL, NULL, NULL, NULL),
-- Over the 1800 s limit.
(206, 5, now() - interval '200 days', now() - interval '200 days' + interval '31 minutes',
    'COMPLETED', '{"difficulty": {"easy": 6, "medium": 2}, "domain": {"pattern": 1, "logic": 2, "spatial": 1, "math": 1, "verbal": 2, "memory": 1}, "total": 8, "anchor_count": 0, "anchors_per_domain": {"pattern": 0, "logic": 0, "spatial": 0, "math": 0, "verbal": 0, "memory": 0}}',
    true, false, NULL, NULL, NULL, NULL),
-- Rushed: 90 seconds for 6 items (its result is suspect).
(209, 8, now() - interval '350 days', now() - interval '350 days' + interval '90 seconds',
    'COMPLETED', '{"difficulty": {"medium": 6}, "domain": {"pattern": 1, "logic": 1, "spatial": 1, "math": 1, "verbal": 1, "memory": 1}, "total": 6}',
    false, false, NULL, NULL, NULL, NULL),
(210, 8, now() - interval '150 days', now() - interval '150 days' + interval '9 minutes',
    'COMPLETED', '{"difficulty": {"easy": 2, "hard": 6}, "domain": {"pattern": 2, "logic": 2, "spatial": 1, "math": 1, "verbal": 1, "memory": 1}, "total": 8, "anchor_count": 0, "anchors_per_domain": {"pattern": 0, "logic": 0, "spatial": 0, "math": 0, "verbal": 0, "memory": 0}}',
    false, false, NULL, NULL, NULL, NULL),
-- Real CAT sessions: composition JSON null, theta_history arrays, final estimates.
(213, 30, now() - interval '260 days', now() - interval '260 days' + interval '9 minutes',
    'COMPLETED', 'null', false, true, '[0.35, 0.12, 0.28, 0.05, 0.19, 0.08, 0.14, 0.12]', 0.12,
    0.31, 'theta_stable'),
(215, 30, now() - interval '120 days', now() - interval '120 days' + interval '10 minutes',
    'COMPLETED', 'null', false, true,
    '[0.45, 0.21, 0.52, 0.71, 0.71, 0.58, 0.79, 0.88, 0.84]', 0.84, 0.29, 'se_threshold'),
(216, 31, now() - interval '10 minutes', NULL, 'IN_PROGRESS', 'null', false, true,
    '[0.42, 0.11, 0.37]', NULL, NULL, NULL),
-- is_adaptive = true on an ordinary fixed-form session (cat_readiness.enabled was on).
(218, 36, now() - interval '130 days', now() - interval '130 days' + interval '13 minutes',
    'COMPLETED', '{"difficulty": {"medium": 6}, "domain": {"pattern": 1, "logic": 1, "spatial": 1, "math": 1, "verbal": 1, "memory": 1}, "total": 6, "anchor_count": 1, "anchors_per_domain": {"pattern": 1, "logic": 0, "spatial": 0, "math": 0, "verbal": 0, "memory": 0}}',
    false, true, NULL, NULL, NULL, NULL),
-- Abandoned fixed-form: completed_at = abandon time, no responses, seen rows kept.
(220, 40, now() - interval '95 days', now() - interval '95 days' + interval '4 minutes',
    'ABANDONED', '{"difficulty": {"easy": 5, "hard": 1}, "domain": {"pattern": 1, "logic": 1, "spatial": 1, "math": 1, "verbal": 1, "memory": 1}, "total": 6, "anchor_count": 0, "anchors_per_domain": {"pattern": 0, "logic": 0, "spatial": 0, "math": 0, "verbal": 0, "memory": 0}}',
    false, false, NULL, NULL, NULL, NULL),
-- Demo account: double-encoded metadata (a JSON string) from the Python script ...
(222, 35, now() - interval '200 days', now() - interval '200 days' + interval '6 minutes',
    'COMPLETED',
    to_json('{"strategy": "demo_account", "marker": "APP_STORE_REVIEW_DEMO"}'::text),
    false, false, NULL, NULL, NULL, NULL),
-- ... and a session made by the SQL demo script: a result but no responses, no seen rows.
(223, 35, now() - interval '105 days', now() - interval '105 days' + interval '15 minutes',
    'COMPLETED', '{"strategy": "demo_account", "marker": "APP_STORE_REVIEW_DEMO"}', false,
    false, NULL, NULL, NULL, NULL),
-- Guest (-1): an unclaimed completed test, two tests in progress at once, and one abandoned
-- by housekeeping (completed_at stays NULL).
(230, -1, now() - interval '160 days', now() - interval '160 days' + interval '8 minutes',
    'COMPLETED', '{"difficulty": {"hard": 6}, "domain": {"pattern": 1, "logic": 1, "spatial": 1, "math": 1, "verbal": 1, "memory": 1}, "total": 6, "anchor_count": 0, "anchors_per_domain": {"pattern": 0, "logic": 0, "spatial": 0, "math": 0, "verbal": 0, "memory": 0}}',
    false, false, NULL, NULL, NULL, NULL),
(231, -1, now() - interval '10 minutes', NULL, 'IN_PROGRESS',
    '{"difficulty": {"easy": 2, "medium": 2, "hard": 2}, "domain": {"pattern": 1, "logic": 1, "spatial": 1, "math": 1, "verbal": 1, "memory": 1}, "total": 6, "anchor_count": 0, "anchors_per_domain": {"pattern": 0, "logic": 0, "spatial": 0, "math": 0, "verbal": 0, "memory": 0}}',
    false, false, NULL, NULL, NULL, NULL),
(232, -1, now() - interval '25 minutes', NULL, 'IN_PROGRESS',
    '{"difficulty": {"easy": 3, "medium": 3}, "domain": {"pattern": 1, "logic": 1, "spatial": 1, "math": 1, "verbal": 1, "memory": 1}, "total": 6, "anchor_count": 0, "anchors_per_domain": {"pattern": 0, "logic": 0, "spatial": 0, "math": 0, "verbal": 0, "memory": 0}}',
    false, false, NULL, NULL, NULL, NULL),
(233, -1, now() - interval '30 days', NULL, 'ABANDONED',
    '{"difficulty": {"medium": 6}, "domain": {"pattern": 1, "logic": 1, "spatial": 1, "math": 1, "verbal": 1, "memory": 1}, "total": 6, "anchor_count": 0, "anchors_per_domain": {"pattern": 0, "logic": 0, "spatial": 0, "math": 0, "verbal": 0, "memory": 0}}',
    false, false, NULL, NULL, NULL, NULL),
-- A guest test claimed by user 33 (session, responses and result re-pointed from -1).
(235, 33, now() - interval '140 days', now() - interval '140 days' + interval '11 minutes',
    'COMPLETED', '{"difficulty": {"medium": 6}, "domain": {"pattern": 1, "logic": 1, "spatial": 1, "math": 1, "verbal": 1, "memory": 1}, "total": 6, "anchor_count": 0, "anchors_per_domain": {"pattern": 0, "logic": 0, "spatial": 0, "math": 0, "verbal": 0, "memory": 0}}',
    false, false, NULL, NULL, NULL, NULL),
-- A fixed-form test in progress (seen rows, no responses yet).
(237, 45, now() - interval '20 minutes', NULL, 'IN_PROGRESS',
    '{"difficulty": {"easy": 6}, "domain": {"pattern": 1, "logic": 1, "spatial": 1, "math": 1, "verbal": 1, "memory": 1}, "total": 6, "anchor_count": 0, "anchors_per_domain": {"pattern": 0, "logic": 0, "spatial": 0, "math": 0, "verbal": 0, "memory": 0}}',
    false, false, NULL, NULL, NULL, NULL);

-- Responses, in answer order (id order). A wrong answer is another option of the item. Fixed-form
-- answers all carry the submit time; CAT answers one minute apart.
INSERT INTO responses (
    id, test_session_id, user_id, question_id, user_answer, is_correct, answered_at,
    time_spent_seconds
)
SELECT v.base + r.i, s.id, s.user_id, r.qid,
    CASE WHEN r.ok THEN q.correct_answer
        ELSE (SELECT o FROM json_array_elements_text(q.answer_options) AS o
              WHERE o <> q.correct_answer LIMIT 1) END,
    r.ok,
    CASE WHEN s.theta_history IS NULL THEN s.completed_at
        ELSE s.started_at + r.i * interval '1 minute' END,
    r.secs
FROM (VALUES
    (201, 5000, ARRAY[1001, 1002, 1003, 1004, 1005, 1006],
        ARRAY[true, true, false, true, false, true], ARRAY[95, 120, 140, 88, 131, 146]),
    (202, 5010, ARRAY[1007, 1008, 1009, 1010, 1011, 1012, 1],
        ARRAY[true, false, true, true, true, false, true],
        ARRAY[101, NULL, 133, 97, 142, 119, 40]),
    (205, 5020, ARRAY[1013, 1014, 1015, 1016, 1017, 1018, 15],
        ARRAY[true, false, false, true, false, false, false],
        ARRAY[150, 170, 121, 133, 160, 149, 77]),
    (206, 5030, ARRAY[1019, 1020, 1021, 1022, 1023, 1024, 17, 18],
        ARRAY[true, true, false, true, true, false, false, false],
        ARRAY[240, 200, 260, 231, 222, 250, 190, 270]),
    (209, 5040, ARRAY[1025, 1026, 1027, 1028, 1029, 1030],
        ARRAY[true, true, true, true, true, true], ARRAY[2, 2, 1, 2, 3, 2]),
    (210, 5050, ARRAY[1031, 1032, 1033, 1034, 1035, 1036, 1037, 1038],
        ARRAY[true, false, true, false, true, true, true, false],
        ARRAY[8, 61, 9, 75, 7, 9, 58, 66]),
    (213, 5060, ARRAY[1049, 1051, 1052, 1053, 1054, 1055, 1056, 1057],
        ARRAY[false, true, false, true, false, true, true, true],
        ARRAY[55, 48, 61, 50, 44, 39, 41, 52]),
    (215, 5070, ARRAY[1037, 10, 1038, 1043, 1040, 1041, 1044, 1042, 1039],
        ARRAY[true, false, true, true, true, false, true, true, false],
        ARRAY[45, 58, 40, 52, 37, 49, 51, 43, 47]),
    (216, 5080, ARRAY[1045, 1046, 1047], ARRAY[true, false, true], ARRAY[44, 59, 38]),
    (218, 5090, ARRAY[1043, 1044, 1045, 1046, 1047, 1048],
        ARRAY[true, true, false, true, false, true], ARRAY[120, 133, 128, 140, 110, 136]),
    (222, 5100, ARRAY[1001, 1002, 1003, 1004, 1005],
        ARRAY[true, true, true, true, true], ARRAY[60, 70, 65, 72, 68]),
    (230, 5110, ARRAY[1013, 1014, 1015, 1016, 1017, 1018],
        ARRAY[true, true, false, true, true, false], ARRAY[70, 85, 90, 66, 81, 79]),
    (235, 5120, ARRAY[1025, 1026, 1027, 1028, 1029, 1030],
        ARRAY[false, true, true, false, true, true], ARRAY[100, 115, 108, 97, 121, 104])
) AS v(sid, base, qids, oks, secs)
CROSS JOIN LATERAL unnest(v.qids, v.oks, v.secs) WITH ORDINALITY AS r(qid, ok, secs, i)
JOIN test_sessions s ON s.id = v.sid
JOIN questions q ON q.id = r.qid;

-- HTML-escaped answers graded against the raw correct answer (stored false, although the
-- unescaped text is right), and one answer whose stored true disagrees with its text (the
-- item's correct_answer was edited afterwards). is_correct is authoritative either way.
UPDATE responses SET user_answer = 'Tom &amp; Jerry' WHERE id = 5027;       -- item 15
UPDATE responses SET user_answer = '&lt;b&gt;' WHERE id = 5037;             -- item 17
UPDATE responses SET user_answer = '&quot;x&quot;' WHERE id = 5038;         -- item 18
UPDATE responses SET user_answer = '16' WHERE id = 5031;                    -- item 1019

-- The seen set. Fixed-form rows are written at start in presentation order, CAT rows as each
-- item is served, claim rows at claim time. No rows for guests.
INSERT INTO user_questions (id, user_id, question_id, seen_at, test_session_id)
SELECT v.base + r.i, s.user_id, r.qid,
    CASE WHEN v.claimed THEN s.completed_at + interval '5 minutes'
        WHEN s.theta_history IS NOT NULL THEN s.started_at + (r.i - 1) * interval '1 minute'
        ELSE s.started_at END,
    s.id
FROM (VALUES
    (201, 7000, false, ARRAY[1001, 1002, 1003, 1004, 1005, 1006]),
    (202, 7010, false, ARRAY[1007, 1008, 1009, 1010, 1011, 1012, 1]),
    (205, 7020, false, ARRAY[1013, 1014, 1015, 1016, 1017, 1018, 15]),
    (206, 7030, false, ARRAY[1019, 1020, 1021, 1022, 1023, 1024, 17, 18]),
    (209, 7040, false, ARRAY[1025, 1026, 1027, 1028, 1029, 1030]),
    (210, 7050, false, ARRAY[1031, 1032, 1033, 1034, 1035, 1036, 1037, 1038]),
    (213, 7060, false, ARRAY[1049, 1051, 1052, 1053, 1054, 1055, 1056, 1057]),
    (215, 7070, false, ARRAY[1037, 10, 1038, 1043, 1040, 1041, 1044, 1042, 1039]),
    (216, 7080, false, ARRAY[1045, 1046, 1047]),
    (218, 7090, false, ARRAY[1043, 1044, 1045, 1046, 1047, 1048]),
    (220, 7100, false, ARRAY[1054, 1055, 1056, 1057, 1058, 1059]),
    (222, 7110, false, ARRAY[1001, 1002, 1003, 1004, 1005]),
    (235, 7120, true, ARRAY[1025, 1026, 1027, 1028, 1029, 1030]),
    (237, 7130, false, ARRAY[1001, 1002, 1003, 1004, 1005, 1006])
) AS v(sid, base, claimed, qids)
CROSS JOIN LATERAL unnest(v.qids) WITH ORDINALITY AS r(qid, i)
JOIN test_sessions s ON s.id = v.sid;
-- Rows from before user_questions.test_session_id existed.
INSERT INTO user_questions (id, user_id, question_id, seen_at, test_session_id) VALUES
(7901, 40, 1001, now() - interval '610 days', NULL),
(7902, 40, 1002, now() - interval '610 days', NULL),
(7905, 3, 1019, now() - interval '690 days', NULL);

-- Results: completed_at and completion time follow the session.
INSERT INTO test_results (
    id, test_session_id, user_id, iq_score, total_questions, correct_answers,
    completion_time_seconds, completed_at, percentile_rank, standard_error, ci_lower, ci_upper,
    response_time_flags, validity_status, validity_flags, validity_checked_at,
    validity_override_reason, validity_overridden_at, validity_overridden_by, domain_scores,
    theta_estimate, theta_se, scoring_method
)
SELECT v.id, s.id, s.user_id, v.iq, v.total, v.correct,
    extract(epoch FROM s.completed_at - s.started_at)::int, s.completed_at, v.pct, v.se,
    v.lo, v.hi, v.rtf::json, v.status, v.flags::json,
    CASE WHEN v.checked THEN s.completed_at END,
    v.override_reason,
    CASE WHEN v.override_reason IS NOT NULL THEN s.completed_at + interval '3 days' END,
    CASE WHEN v.override_reason IS NOT NULL THEN 0 END,
    v.scores, v.theta, v.theta_se, v.method
FROM (VALUES
    -- Time analysis failed (JSON null) and no validity flags (JSON null).
    (301, 201, 104, 6, 4, 60.5, NULL::float8, NULL::int, NULL::int, 'null', 'valid', 'null',
        true, NULL, pg_temp.fixed_scores(1, 1, 1, 1, 0, 1, 1, 1, 0, 1, 1, 1), NULL::float8,
        NULL::float8, 'ctt'),
    (302, 202, 109, 7, 5, 72.6, 5.12, 99, 119,
        '{"rapid_responses": 0, "extended_times": 0, "rushed_session": false, "validity_concern": false, "mean_time": 107.0, "flags": ["incomplete_time_data"]}',
        'valid', 'null', true, NULL, pg_temp.fixed_scores(1, 1, 0, 1, 1, 1, 1, 1, 2, 2, 0, 1),
        NULL, NULL, 'ctt'),
    (305, 205, 88, 7, 2, 21.2, 5.12, 78, 98,
        '{"rapid_responses": 0, "extended_times": 0, "rushed_session": false, "validity_concern": false, "mean_time": 137.14, "flags": []}',
        'valid', 'null', true, NULL, pg_temp.fixed_scores(1, 1, 0, 1, 0, 1, 1, 1, 0, 2, 0, 1),
        NULL, NULL, 'ctt'),
    (306, 206, 97, 8, 4, 42.1, 5.48, 86, 108,
        '{"rapid_responses": 0, "extended_times": 0, "rushed_session": false, "validity_concern": false, "mean_time": 232.88, "flags": []}',
        'valid', 'null', true, NULL, pg_temp.fixed_scores(1, 1, 1, 2, 0, 1, 1, 1, 1, 2, 0, 1),
        NULL, NULL, 'ctt'),
    (309, 209, 131, 6, 6, 98.1, 5.12, 121, 141,
        '{"rapid_responses": 6, "extended_times": 0, "rushed_session": true, "validity_concern": true, "mean_time": 2.0, "flags": ["rushed_session", "multiple_rapid_responses"]}',
        'suspect',
        '[{"type": "multiple_rapid_responses", "severity": "high", "source": "time_check", "details": "6 responses under 3 seconds", "count": 6}, {"type": "total_time_too_fast", "severity": "high", "source": "time_check", "details": "6 questions in 90 seconds", "count": null}, {"type": "aberrant_response_pattern", "severity": "medium", "source": "person_fit", "details": "All items correct at rapid pace"}]',
        true, NULL, pg_temp.fixed_scores(1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1), NULL, NULL, 'ctt'),
    -- Flagged, then overridden to valid by the admin token (validity_overridden_by = 0).
    (310, 210, 108, 8, 5, 70.3, 5.48, 97, 119,
        '{"rapid_responses": 4, "extended_times": 0, "rushed_session": false, "validity_concern": true, "mean_time": 36.63, "flags": []}',
        'valid',
        '[{"type": "suspiciously_fast_on_hard", "severity": "medium", "source": "time_check", "details": "4 hard items answered in under 10 seconds", "count": 4}]',
        true, 'Reviewed by support: the user is a maths teacher, the fast answers are plausible.',
        pg_temp.fixed_scores(2, 2, 0, 2, 1, 1, 0, 1, 1, 1, 1, 1), NULL, NULL, 'ctt'),
    -- Real CAT results: IRT scoring, CAT domain shape, SQL NULL flags, fewer items than answers.
    (313, 213, 102, 8, 5, 55.3, 4.65, 93, 111, NULL, 'valid', NULL, false, NULL,
        '{"pattern": {"items_administered": 2, "correct_count": 1, "accuracy": 0.5}, "logic": {"items_administered": 1, "correct_count": 1, "accuracy": 1.0}, "spatial": {"items_administered": 2, "correct_count": 2, "accuracy": 1.0}, "math": {"items_administered": 1, "correct_count": 0, "accuracy": 0.0}, "verbal": {"items_administered": 1, "correct_count": 1, "accuracy": 1.0}, "memory": {"items_administered": 1, "correct_count": 0, "accuracy": 0.0}}'::json,
        0.12, 0.31, 'irt'),
    (315, 215, 113, 8, 5, 80.7, 4.35, 104, 122, NULL, 'valid', NULL, false, NULL,
        '{"pattern": {"items_administered": 2, "correct_count": 2, "accuracy": 1.0, "percentile": 91.2}, "logic": {"items_administered": 2, "correct_count": 2, "accuracy": 1.0, "percentile": 93.5}, "spatial": {"items_administered": 1, "correct_count": 0, "accuracy": 0.0, "percentile": 12.4}, "math": {"items_administered": 1, "correct_count": 0, "accuracy": 0.0, "percentile": 10.8}, "verbal": {"items_administered": 1, "correct_count": 0, "accuracy": 0.0, "percentile": 9.9}, "memory": {"items_administered": 1, "correct_count": 1, "accuracy": 1.0, "percentile": 88.1}}'::json,
        0.84, 0.29, 'irt'),
    (318, 218, 104, 6, 4, 60.5, NULL, NULL, NULL,
        '{"rapid_responses": 0, "extended_times": 0, "rushed_session": false, "validity_concern": false, "mean_time": 127.83, "flags": []}',
        'valid', 'null', true, NULL, pg_temp.fixed_scores(1, 1, 1, 1, 0, 1, 1, 1, 0, 1, 1, 1),
        NULL, NULL, 'ctt'),
    (322, 222, 125, 5, 5, 95.2, NULL, NULL, NULL,
        '{"rapid_responses": 0, "extended_times": 0, "rushed_session": false, "validity_concern": false, "mean_time": 67.0, "flags": []}',
        'valid', 'null', true, NULL, pg_temp.fixed_scores(1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0),
        NULL, NULL, 'ctt'),
    -- SQL demo script: a result without responses; it left the JSON columns SQL NULL.
    (323, 223, 118, 20, 16, 88.5, NULL, NULL, NULL, NULL, 'valid', NULL, false, NULL,
        pg_temp.fixed_scores(3, 4, 3, 3, 2, 3, 3, 4, 3, 3, 2, 3), NULL, NULL, 'ctt'),
    (330, 230, 104, 6, 4, 60.5, 5.12, 94, 114,
        '{"rapid_responses": 0, "extended_times": 0, "rushed_session": false, "validity_concern": false, "mean_time": 78.5, "flags": []}',
        'valid', 'null', true, NULL, pg_temp.fixed_scores(1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 0, 1),
        NULL, NULL, 'ctt'),
    (335, 235, 104, 6, 4, 60.5, 5.12, 94, 114,
        '{"rapid_responses": 0, "extended_times": 0, "rushed_session": false, "validity_concern": false, "mean_time": 107.5, "flags": []}',
        'valid', 'null', true, NULL, pg_temp.fixed_scores(0, 1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1),
        NULL, NULL, 'ctt')
) AS v(id, sid, iq, total, correct, pct, se, lo, hi, rtf, status, flags, checked,
    override_reason, scores, theta, theta_se, method)
JOIN test_sessions s ON s.id = v.sid;

-- Shadow CAT re-scoring of the fixed-form session with 8 calibrated items.
INSERT INTO shadow_cat_results (
    id, test_session_id, shadow_theta, shadow_se, shadow_iq, items_administered,
    administered_question_ids, stopping_reason, actual_iq, theta_iq_delta, theta_history,
    se_history, domain_coverage, executed_at, execution_time_ms
) VALUES
(951, 210, 0.61, 0.42, 109, 8, '[1031, 1032, 1033, 1034, 1035, 1036, 1037, 1038]',
    'all_items_exhausted', 108, 1.0, '[0.3, 0.05, 0.33, 0.14, 0.42, 0.55, 0.66, 0.61]',
    '[0.92, 0.81, 0.7, 0.64, 0.57, 0.5, 0.45, 0.42]',
    '{"pattern": 2, "logic": 2, "verbal": 1, "spatial": 1, "math": 1, "memory": 1}',
    now() - interval '150 days' + interval '9 minutes' + interval '2 seconds', 184);

DROP FUNCTION pg_temp.fixed_scores(int[]);
