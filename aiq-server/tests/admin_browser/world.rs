//! The users, tests and addresses the browser scenario works on.

use super::*;

/// A user the test registers through the API.
pub(crate) struct Person {
    pub(crate) email: &'static str,
    pub(crate) first_name: &'static str,
    pub(crate) last_name: &'static str,
    pub(crate) id: i64,
    pub(crate) token: String,
}

/// Registers the people through the API (three: the per-address registration limit) and looks
/// up their ids.
pub(crate) async fn register_people(server: &Server, db: &tokio_postgres::Client) -> Vec<Person> {
    let people = [
        ("ada.lovelace@example.com", "Ada", "Lovelace"),
        ("grace.hopper@example.com", "Grace", "Hopper"),
        ("mallory@example.com", SCRIPT_NAME, "Mallory"),
    ];
    let mut registered = Vec::new();
    for (email, first_name, last_name) in people {
        let response = client()
            .post(server.url("/v1/auth/register"))
            .json(&json!({
                "email": email, "password": "correct horse 9",
                "first_name": first_name, "last_name": last_name,
            }))
            .send()
            .await
            .expect("register over TCP");
        let status = response.status();
        let body: serde_json::Value = response.json().await.expect("a JSON answer");
        assert_eq!(status, 201, "registering {email}: {body}");
        let token = body["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("no access token for {email}: {body}"))
            .to_owned();
        let id: i64 = db
            .query_one("SELECT id FROM users WHERE email = $1", &[&email])
            .await
            .unwrap_or_else(|e| panic!("{email} is in the database: {e}"))
            .get(0);
        registered.push(Person {
            email,
            first_name,
            last_name,
            id,
            token,
        });
    }
    registered
}

/// Takes a whole fixed-form test as `person`; returns the IQ score.
pub(crate) async fn complete_a_test(server: &Server, person: &Person) -> i64 {
    let started = call_json(server, Method::POST, "/v1/test/start", &person.token, None).await;
    let questions = started["questions"]
        .as_array()
        .unwrap_or_else(|| panic!("a started test has questions: {started}"));
    assert!(!questions.is_empty(), "{started}");
    let responses: Vec<serde_json::Value> = questions
        .iter()
        .map(|q| json!({"question_id": q["id"], "user_answer": q["answer_options"][1]}))
        .collect();
    let body = json!({"session_id": started["session"]["id"], "responses": responses});
    let submitted = call_json(
        server,
        Method::POST,
        "/v1/test/submit",
        &person.token,
        Some(body),
    )
    .await;
    submitted["result"]["iq_score"]
        .as_i64()
        .unwrap_or_else(|| panic!("a submitted test has an IQ score: {submitted}"))
}

/// Starts a test as `person` and leaves it in progress.
pub(crate) async fn start_a_test(server: &Server, person: &Person) {
    let started = call_json(server, Method::POST, "/v1/test/start", &person.token, None).await;
    assert_eq!(
        started["session"]["status"], "in_progress",
        "a test in progress: {started}"
    );
}

/// What the browser scenario needs to know about the world it runs in.
pub(crate) struct World {
    /// `http://127.0.0.1:<port>` of the server.
    pub(crate) base: String,
    pub(crate) db_url: String,
    pub(crate) downloads: PathBuf,
    pub(crate) screenshot: PathBuf,
    pub(crate) people: Vec<Person>,
    pub(crate) iq_score: i64,
}

impl World {
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub(crate) fn person(&self, email: &str) -> &Person {
        self.people
            .iter()
            .find(|p| p.email == email)
            .expect("one of the registered people")
    }
}
