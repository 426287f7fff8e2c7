//! `AiqService::serve` on a real listener: requests, the socket address, slow clients.

use std::time::Duration;

use aiq_core::{Aiq, Config};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Serves a service built from `config` on a free port until the returned sender is dropped.
async fn serve(config: Config) -> (std::net::SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let service = Aiq::builder(config).build().unwrap();
    tokio::spawn(service.serve(listener, async {
        let _ = stopped.await;
    }));
    (addr, stop)
}

#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_disconnected() {
    let mut config = Config::default();
    config.http.request_timeout = Duration::from_secs(1); // also bounds the header read
    let (addr, _stop) = serve(config).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /v1/ping HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    // The 10 s bound tells the configured 1 s apart from the 30 s the header read would get
    // otherwise, with room for a loaded machine.
    let mut buffer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut buffer)).await;
    assert!(
        read.is_ok(),
        "the server closed the connection instead of waiting for ever"
    );
}

#[tokio::test]
async fn a_complete_request_is_answered_with_the_peer_address_known() {
    let (addr, _stop) = serve(Config::default()).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    // Five failed logins from this socket, then the sixth is refused: the limiter saw the
    // peer address (no proxy header is sent).
    let body = r#"{"email":"a@b.co","password":"x"}"#;
    let request = format!(
        "POST /v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let mut statuses = Vec::new();
    for _ in 0..6 {
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut head = vec![0u8; 4096];
        let n = stream.read(&mut head).await.unwrap();
        let text = String::from_utf8_lossy(&head[..n]).into_owned();
        statuses.push(text[9..12].to_owned());
    }
    assert_eq!(statuses, ["401", "401", "401", "401", "401", "429"]);
}

/// A client that closes its sending side after the request still gets the answer, even from a
/// handler that takes its time (a failed login waits out its floor).
#[tokio::test]
async fn a_half_closed_client_is_answered() {
    let (addr, _stop) = serve(Config::default()).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let body = r#"{"email":"half@b.co","password":"x"}"#;
    let request = format!(
        "POST /v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    stream.shutdown().await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut answer))
        .await
        .expect("the server answers and closes")
        .unwrap();
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 401"), "{text:?}");
    assert!(text.contains("Invalid email or password."), "{text:?}");
}
