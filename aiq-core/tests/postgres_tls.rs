//! `DATABASE_URL`'s `sslmode` against the local PostgreSQL, which serves TLS with its own
//! self-signed certificate (as managed databases do).

use aiq_core::Config;
use aiq_core::storage::{PgStore, Storage};
use aiq_testkit::TestDb;

async fn admin() -> tokio_postgres::Client {
    let url = std::env::var("AIQ_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .expect("PostgreSQL is reachable");
    tokio::spawn(connection);
    client
}

/// The server's certificate file; the tests need a server with TLS switched on.
async fn server_certificate() -> String {
    let client = admin().await;
    let ssl: String = client.query_one("SHOW ssl", &[]).await.unwrap().get(0);
    assert_eq!(
        ssl, "on",
        "these tests need PostgreSQL with ssl = on (Debian's default)"
    );
    client
        .query_one("SHOW ssl_cert_file", &[])
        .await
        .unwrap()
        .get(0)
}

fn store(url: String) -> PgStore {
    let mut config = Config::default();
    config.database.url = Some(url.into());
    config.database.connect_timeout = std::time::Duration::from_secs(5);
    PgStore::connect(&config.database).unwrap()
}

/// Whether the store's connections to `db` are encrypted, as the server sees them.
async fn encrypted(db: &TestDb) -> bool {
    let row = admin()
        .await
        .query_one(
            "SELECT bool_and(s.ssl) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) \
             WHERE a.datname = $1 AND a.application_name = 'aiq'",
            &[&db.name()],
        )
        .await
        .unwrap();
    row.get::<_, Option<bool>>(0)
        .expect("the store has a connection")
}

#[tokio::test]
async fn require_encrypts_without_checking_the_certificate() {
    server_certificate().await;
    let db = TestDb::create().await;
    let store = store(format!("{}?sslmode=require", db.url()));
    store.ping().await.unwrap();
    assert!(encrypted(&db).await);
}

#[tokio::test]
async fn disable_connects_in_plain_text() {
    let db = TestDb::create().await;
    let store = store(format!("{}?sslmode=disable", db.url()));
    store.ping().await.unwrap();
    assert!(!encrypted(&db).await);
}

#[tokio::test]
async fn verify_full_refuses_an_untrusted_certificate() {
    server_certificate().await;
    let db = TestDb::create().await;
    let store = store(format!("{}?sslmode=verify-full", db.url()));
    assert!(
        store.ping().await.is_err(),
        "a self-signed certificate is not in the Mozilla roots"
    );
}

#[tokio::test]
async fn verify_ca_and_verify_full_accept_a_trusted_root() {
    let cert = server_certificate().await;
    let db = TestDb::create().await;
    // Trusted root, but the certificate names `localhost`, not 127.0.0.1.
    let store_ca = store(format!("{}?sslmode=verify-ca&sslrootcert={cert}", db.url()));
    store_ca.ping().await.unwrap();
    assert!(encrypted(&db).await);

    let wrong_host = store(format!(
        "{}?sslmode=verify-full&sslrootcert={cert}",
        db.url()
    ));
    assert!(
        wrong_host.ping().await.is_err(),
        "verify-full checks the host name"
    );

    let by_name = db.url().replace("127.0.0.1", "localhost");
    let store_full = store(format!("{by_name}?sslmode=verify-full&sslrootcert={cert}"));
    store_full.ping().await.unwrap();
}
