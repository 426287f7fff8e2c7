//! The question bank commands, and whole tests (fixed-form and adaptive) taken over TCP, with
//! the binary as a process.

mod support;

use aiq_testkit::TestDb;
use reqwest::Method;
use support::{Server, call, call_json, command, register};

const STARTER_BANK: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../aiq-core/data/starter-bank.jsonl"
);

#[tokio::test]
async fn a_newcomer_takes_a_whole_test_on_the_memory_store() {
    let mut server = Server::start(&[]);
    let loaded = server.wait_for_line("starter question bank");
    assert!(loaded.contains("questions=990"), "{loaded}");
    let token = register(&server, "new@example.com").await;
    let none = call(&server, Method::GET, "/v1/test/active", &token, None).await;
    assert_eq!(none, "null");

    let started = call_json(&server, Method::POST, "/v1/test/start", &token, None).await;
    let questions = started["questions"].as_array().unwrap();
    assert_eq!(questions.len(), 25);
    let responses: Vec<serde_json::Value> = questions
        .iter()
        .map(|q| serde_json::json!({"question_id": q["id"], "user_answer": q["answer_options"][1]}))
        .collect();
    let body = serde_json::json!({"session_id": started["session"]["id"], "responses": responses});
    let submitted = call_json(&server, Method::POST, "/v1/test/submit", &token, Some(body)).await;
    let iq = submitted["result"]["iq_score"].as_i64().unwrap();
    assert!((85..=115).contains(&iq), "{submitted}");

    let history = call_json(&server, Method::GET, "/v1/test/history", &token, None).await;
    assert_eq!(history["total_count"], 1);
    assert_eq!(history["results"][0]["iq_score"], iq);
}

#[tokio::test]
async fn a_newcomer_takes_an_adaptive_test_on_the_memory_store() {
    let server = Server::start(&[]);
    let token = register(&server, "cat@example.com").await;
    let start = "/v1/test/start?adaptive=true";
    let started = call_json(&server, Method::POST, start, &token, None).await;
    assert_eq!(started["session"]["is_adaptive"], true, "{started}");
    assert_eq!(started["total_questions"], 1);
    let session_id = started["session"]["id"].clone();
    let mut question = started["questions"][0].clone();
    let mut answered = 0;
    let done = loop {
        let body = serde_json::json!({
            "session_id": session_id,
            "question_id": question["id"],
            "user_answer": question["answer_options"][answered % 2],
        });
        let reply = call_json(&server, Method::POST, "/v1/test/next", &token, Some(body)).await;
        answered += 1;
        assert!(answered <= 15, "the test stops by 15 items: {reply}");
        if reply["test_complete"] == true {
            break reply;
        }
        question = reply["next_question"].clone();
    };
    assert!(answered >= 8, "at least 8 items: {done}");
    let iq = done["result"]["iq_score"].as_i64().unwrap();
    assert!((40..=160).contains(&iq), "{done}");
    assert!(done["result"]["confidence_interval"].is_object(), "{done}");
    let history = call_json(&server, Method::GET, "/v1/test/history", &token, None).await;
    assert_eq!(history["results"][0]["iq_score"], iq);
}

fn import(db: &TestDb, file: &str) -> (bool, String) {
    let output = command(&[("DATABASE_URL", db.url())])
        .args(["questions", "import", file])
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

#[test]
fn import_reports_every_row_and_adds_nothing_twice() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let db = runtime.block_on(TestDb::create());
    let dir = tempdir();
    let file = dir.join("bank.jsonl");
    let valid = |text: &str| {
        serde_json::json!({
            "question_text": text, "question_type": "math", "difficulty_level": "easy",
            "correct_answer": "4", "answer_options": ["3", "4", "5", "6"]
        })
        .to_string()
    };
    let three_options = serde_json::json!({
        "question_text": "2+1?", "question_type": "math", "difficulty_level": "easy",
        "correct_answer": "3", "answer_options": ["3", "4", "5"]
    });
    std::fs::write(
        &file,
        format!(
            "{}\nnot json\n\n{three_options}\n{}\n",
            valid("2+2?"),
            valid("1+3?")
        ),
    )
    .unwrap();
    let file = file.to_str().unwrap();

    let (ok, report) = import(&db, file);
    assert!(!ok, "rejected rows make the command fail: {report}");
    assert!(
        report.contains("line 2: rejected: not a question"),
        "{report}"
    );
    assert!(
        report.contains("line 4: rejected: has 3 answer options"),
        "{report}"
    );
    assert!(
        report.contains("added 2, skipped 0, rejected 2"),
        "{report}"
    );
    let (_, again) = import(&db, file);
    assert!(
        again.contains("line 1: skipped: already in the bank"),
        "{again}"
    );
    assert!(again.contains("added 0, skipped 2, rejected 2"), "{again}");

    let (ok, starter) = import(&db, STARTER_BANK);
    assert!(ok, "{starter}");
    assert!(
        starter.contains("added 990, skipped 0, rejected 0"),
        "{starter}"
    );
    let (ok, twice) = import(&db, STARTER_BANK);
    assert!(ok);
    assert!(
        twice.contains("added 0, skipped 990, rejected 0"),
        "{twice}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn import_without_a_database_says_what_to_set() {
    let output = command(&[])
        .args(["questions", "import", STARTER_BANK])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("DATABASE_URL is not set"));
}

#[test]
fn generate_reproduces_the_starter_bank() {
    let dir = tempdir();
    let out = dir.join("generated.jsonl");
    let output = command(&[])
        .args(["questions", "generate", "--out", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(out).unwrap(),
        std::fs::read_to_string(STARTER_BANK).unwrap()
    );
    std::fs::remove_dir_all(dir).unwrap();
}

/// A fresh directory under the system's temporary directory.
fn tempdir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("aiq-questions-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
