//! What is copied from each table of the old backend (original-schema.md), and how.
//!
//! Each table is read by one `SELECT` on the old database whose columns have exactly the types
//! of aiq's columns (the rows travel as binary `COPY` from one server to the other without being
//! decoded here), plus a last `refusal` column: the reason the row cannot be imported, or NULL.
//! The conversions the spec asks for happen in these `SELECT`s: upper-case enum labels to
//! aiq's lower-case values, JSON `null` to SQL NULL, HTML-escaped text back to what the user
//! typed, NULL counters to 0.

/// One imported table.
pub(super) struct Table {
    /// The table's name, the same in both schemas.
    pub(super) name: &'static str,
    /// aiq's columns that are written, `id` first. Columns aiq adds of its own (token
    /// generation, adaptive engine state) are not listed, so an update keeps them.
    pub(super) columns: &'static [&'static str],
    /// The old database's `SELECT`, one output column per entry of `columns`, then `refusal`.
    pub(super) select: String,
    /// Foreign keys to tables imported before this one: (column, parent table). A row whose
    /// parent was refused is refused too.
    pub(super) parents: &'static [(&'static str, &'static str)],
}

/// The old backend's text filter stored user text HTML-escaped (`&` as `&amp;`, `'` as `&#x27;`
/// ...); aiq stores what was typed. `&amp;` goes last, so `&amp;lt;` becomes `&lt;`.
fn unescaped(column: &str) -> String {
    format!(
        "replace(replace(replace(replace(replace(replace({column}::text, \
         '&lt;', '<'), '&gt;', '>'), '&quot;', '\"'), '&#x27;', ''''), '&#39;', ''''), '&amp;', '&')"
    )
}

/// A `json` column as `jsonb`: JSON `null` and SQL NULL both become NULL (the old ORM wrote
/// either for "nothing"), and a NUL escape, which `jsonb` cannot hold, becomes U+FFFD as in
/// aiq's own text rule.
fn json(column: &str) -> String {
    format!(
        "CASE WHEN json_typeof({column}) = 'null' THEN NULL \
         ELSE replace({column}::text, '\\u0000', '\\ufffd')::jsonb END"
    )
}

/// An upper-case native enum label as aiq's lower-case value.
fn label(column: &str) -> String {
    format!("lower({column}::text)")
}

/// Every imported table, parents before children.
pub(super) fn all() -> Vec<Table> {
    vec![
        Table {
            name: "users",
            columns: &[
                "id",
                "email",
                "password_hash",
                "first_name",
                "last_name",
                "created_at",
                "last_login_at",
                "notification_enabled",
                "apns_device_token",
                "day_30_reminder_sent_at",
                "token_revoked_before",
                "bypass_cooldown",
                "is_admin",
                "password_login_enabled",
                "birth_year",
                "education_level",
                "country",
                "region",
            ],
            // The guest sentinel (-1) is aiq's own row: its sessions attach to it. An email
            // stored with capitals (by hand: the old backend lower-cased what it stored) could
            // never sign in, since logins look the lower-cased address up; it is lower-cased
            // unless another account differs from it only by case.
            select: format!(
                "SELECT id::int8, CASE WHEN count(*) OVER (PARTITION BY lower(email)) = 1 \
                 THEN lower(email) ELSE email END::text, password_hash::text, {first}, {last}, \
                 created_at, last_login_at, notification_enabled, apns_device_token::text, \
                 day_30_reminder_sent_at, token_revoked_before, bypass_cooldown, is_admin, \
                 password_login_enabled, birth_year::int4, {education}, {country}, {region}, \
                 NULL::text FROM users WHERE id <> -1",
                first = unescaped("first_name"),
                last = unescaped("last_name"),
                education = label("education_level"),
                country = unescaped("country"),
                region = unescaped("region"),
            ),
            parents: &[],
        },
        Table {
            name: "oauth_identities",
            columns: &[
                "id",
                "user_id",
                "provider",
                "provider_subject",
                "created_at",
            ],
            select: "SELECT id::int8, user_id::int8, provider::text, provider_subject::text, \
                     created_at, NULL::text FROM oauth_identities"
                .to_owned(),
            parents: &[("user_id", "users")],
        },
        Table {
            name: "questions",
            columns: &[
                "id",
                "question_text",
                "question_type",
                "difficulty_level",
                "correct_answer",
                "answer_options",
                "explanation",
                "stimulus",
                "sub_type",
                "inferred_sub_type",
                "metadata",
                "source_llm",
                "source_model",
                "judge_score",
                "prompt_version",
                "created_at",
                "is_active",
                "empirical_difficulty",
                "discrimination",
                "response_count",
                "irt_difficulty",
                "irt_discrimination",
                "irt_guessing",
                "irt_calibrated_at",
                "irt_se_difficulty",
                "irt_se_discrimination",
                "irt_calibration_n",
                "irt_information_peak",
                "distractor_stats",
                "original_difficulty_level",
                "difficulty_recalibrated_at",
                "quality_flag",
                "quality_flag_reason",
                "quality_flag_updated_at",
                "is_anchor",
                "anchor_designated_at",
                // Filled in by the import from the three columns it hashes.
                "content_key",
            ],
            select: format!(
                "SELECT id::int8, question_text::text, {kind}, {difficulty}, \
                 correct_answer::text, {options}, explanation::text, stimulus::text, \
                 sub_type::text, inferred_sub_type::text, COALESCE({metadata}, '{{}}'::jsonb), \
                 source_llm::text, source_model::text, judge_score::float8, \
                 COALESCE(prompt_version::text, '1.0'), created_at, is_active, \
                 empirical_difficulty::float8, discrimination::float8, \
                 COALESCE(response_count, 0)::int4, irt_difficulty::float8, \
                 irt_discrimination::float8, irt_guessing::float8, irt_calibrated_at, \
                 irt_se_difficulty::float8, irt_se_discrimination::float8, \
                 irt_calibration_n::int4, irt_information_peak::float8, {distractors}, \
                 {original}, difficulty_recalibrated_at, quality_flag::text, \
                 quality_flag_reason::text, quality_flag_updated_at, is_anchor, \
                 anchor_designated_at, NULL::text, NULL::text FROM questions",
                kind = label("question_type"),
                difficulty = label("difficulty_level"),
                options = json("answer_options"),
                metadata = json("metadata"),
                distractors = json("distractor_stats"),
                original = label("original_difficulty_level"),
            ),
            parents: &[],
        },
        Table {
            name: "test_sessions",
            columns: &[
                "id",
                "user_id",
                "started_at",
                "completed_at",
                "status",
                "composition_metadata",
                "time_limit_exceeded",
                "is_adaptive",
                "theta_history",
                "final_theta",
                "final_se",
                "stopping_reason",
            ],
            // A double-encoded composition (a JSON string holding JSON) is decoded afterwards.
            select: format!(
                "SELECT id::int8, user_id::int8, started_at, completed_at, {status}, \
                 {composition}, time_limit_exceeded, is_adaptive, {theta}, final_theta::float8, \
                 final_se::float8, stopping_reason::text, NULL::text FROM test_sessions",
                status = label("status"),
                composition = json("composition_metadata"),
                theta = json("theta_history"),
            ),
            parents: &[("user_id", "users")],
        },
        Table {
            name: "responses",
            columns: &[
                "id",
                "test_session_id",
                "user_id",
                "question_id",
                "user_answer",
                "is_correct",
                "answered_at",
                "time_spent_seconds",
            ],
            // `is_correct` is copied: the old grading compared the escaped answer, and its
            // verdict is what the user was scored on.
            select: format!(
                "SELECT id::int8, test_session_id::int8, user_id::int8, question_id::int8, \
                 {answer}, is_correct, answered_at, time_spent_seconds::int4, NULL::text \
                 FROM responses",
                answer = unescaped("user_answer"),
            ),
            parents: &[
                ("test_session_id", "test_sessions"),
                ("user_id", "users"),
                ("question_id", "questions"),
            ],
        },
        Table {
            name: "test_results",
            columns: &[
                "id",
                "test_session_id",
                "user_id",
                "iq_score",
                "percentile_rank",
                "total_questions",
                "correct_answers",
                "completion_time_seconds",
                "completed_at",
                "standard_error",
                "ci_lower",
                "ci_upper",
                "response_time_flags",
                "validity_status",
                "validity_flags",
                "validity_checked_at",
                "validity_override_reason",
                "validity_overridden_at",
                "validity_overridden_by",
                "domain_scores",
                "theta_estimate",
                "theta_se",
                "scoring_method",
            ],
            // Scores, percentiles and validity are copied, never recomputed.
            select: format!(
                "SELECT id::int8, test_session_id::int8, user_id::int8, iq_score::int4, \
                 percentile_rank::float8, total_questions::int4, correct_answers::int4, \
                 completion_time_seconds::int4, completed_at, standard_error::float8, \
                 ci_lower::int4, ci_upper::int4, {time_flags}, validity_status::text, \
                 {validity_flags}, validity_checked_at, validity_override_reason::text, \
                 validity_overridden_at, validity_overridden_by::int8, {domains}, \
                 theta_estimate::float8, theta_se::float8, scoring_method::text, \
                 CASE WHEN validity_status NOT IN ('valid', 'suspect', 'invalid') \
                      THEN format('validity_status %s is not valid, suspect or invalid', \
                                  quote_literal(validity_status)) \
                      WHEN scoring_method NOT IN ('ctt', 'irt') \
                      THEN format('scoring_method %s is not ctt or irt', \
                                  quote_literal(scoring_method)) \
                      WHEN validity_overridden_by < 0 \
                      THEN 'validity_overridden_by is negative' END \
                 FROM test_results",
                time_flags = json("response_time_flags"),
                validity_flags = json("validity_flags"),
                domains = json("domain_scores"),
            ),
            parents: &[("test_session_id", "test_sessions"), ("user_id", "users")],
        },
        Table {
            name: "user_questions",
            columns: &["id", "user_id", "question_id", "test_session_id", "seen_at"],
            select: "SELECT id::int8, user_id::int8, question_id::int8, \
                     test_session_id::int8, seen_at, NULL::text FROM user_questions"
                .to_owned(),
            parents: &[
                ("user_id", "users"),
                ("question_id", "questions"),
                ("test_session_id", "test_sessions"),
            ],
        },
        Table {
            name: "groups",
            columns: &[
                "id",
                "name",
                "created_by",
                "created_at",
                "invite_code",
                "max_members",
            ],
            select: "SELECT id::int8, name::text, created_by::int8, created_at, \
                     invite_code::text, max_members::int4, \
                     CASE WHEN max_members < 1 THEN format('max_members %s is not positive', \
                     max_members) END FROM groups"
                .to_owned(),
            // `created_by` has no foreign key in aiq: a group outlives its creator.
            parents: &[],
        },
        Table {
            name: "group_memberships",
            columns: &["id", "group_id", "user_id", "role", "joined_at"],
            // aiq allows one owner per group, as the old code did (it never made a second).
            select: "SELECT id::int8, group_id::int8, user_id::int8, role::text, joined_at, \
                     CASE WHEN role NOT IN ('owner', 'member') \
                          THEN format('role %s is not owner or member', quote_literal(role)) \
                          WHEN role = 'owner' AND id <> min(id) FILTER (WHERE role = 'owner') \
                               OVER (PARTITION BY group_id) \
                          THEN 'a second owner of its group' END \
                     FROM group_memberships"
                .to_owned(),
            parents: &[("group_id", "groups"), ("user_id", "users")],
        },
        Table {
            name: "group_invites",
            columns: &[
                "id",
                "group_id",
                "invited_by",
                "invite_code",
                "created_at",
                "expires_at",
                "accepted_by",
                "accepted_at",
            ],
            select: "SELECT id::int8, group_id::int8, invited_by::int8, invite_code::text, \
                     created_at, expires_at, accepted_by::int8, accepted_at, NULL::text \
                     FROM group_invites"
                .to_owned(),
            parents: &[
                ("group_id", "groups"),
                ("invited_by", "users"),
                ("accepted_by", "users"),
            ],
        },
        Table {
            name: "feedback_submissions",
            columns: &[
                "id",
                "user_id",
                "name",
                "email",
                "category",
                "description",
                "app_version",
                "ios_version",
                "device_id",
                "ip_address",
                "status",
                "created_at",
            ],
            select: format!(
                "SELECT id::int8, user_id::int8, {name}, email::text, {category}, \
                 description::text, app_version::text, ios_version::text, device_id::text, \
                 ip_address::text, {status}, created_at, NULL::text FROM feedback_submissions",
                name = unescaped("name"),
                category = label("category"),
                status = label("status"),
            ),
            parents: &[("user_id", "users")],
        },
        Table {
            name: "guest_device_limits",
            columns: &[
                "id",
                "device_id",
                "tests_taken",
                "first_test_at",
                "last_test_at",
            ],
            select: "SELECT id::int8, device_id::text, tests_taken::int4, first_test_at, \
                     last_test_at, NULL::text FROM guest_device_limits"
                .to_owned(),
            parents: &[],
        },
        Table {
            name: "benchmark_sets",
            columns: &[
                "id",
                "name",
                "description",
                "is_active",
                "created_at",
                "updated_at",
            ],
            select: "SELECT id::int8, name::text, description::text, is_active, created_at, \
                     updated_at, NULL::text FROM benchmark_sets"
                .to_owned(),
            parents: &[],
        },
        Table {
            name: "benchmark_set_questions",
            columns: &[
                "id",
                "benchmark_set_id",
                "question_id",
                "position",
                "added_at",
            ],
            select: "SELECT id::int8, benchmark_set_id::int8, question_id::int8, \
                     position::int4, added_at, NULL::text FROM benchmark_set_questions"
                .to_owned(),
            parents: &[
                ("benchmark_set_id", "benchmark_sets"),
                ("question_id", "questions"),
            ],
        },
    ]
}

/// `system_config` is keyed by name, not by id: it is merged key by key (aiq's own keys are
/// kept) and never mirrored by deletion.
pub(super) const SYSTEM_CONFIG_SELECT: &str = "SELECT key::text, replace(value::text, '\\u0000', '\\ufffd')::jsonb, updated_at \
     FROM system_config";
