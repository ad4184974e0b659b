//! `tocsin serve --demo`: /health is open, the API needs the admin token.

use crate::common::{bin, free_port, Proc, TestDb};
use std::process::Stdio;
use std::time::{Duration, Instant};

#[test]
fn health_open_api_needs_token() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let db = TestDb::new(dir.path());
    let token = "tcn_test_admin_token_0123456789";
    let _server = Proc(
        bin()
            .args([
                "--db",
                db.arg(),
                "serve",
                "--demo",
                "--listen",
                &format!("127.0.0.1:{port}"),
            ])
            .env("TOCSIN_ADMIN_TOKEN", token)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::blocking::Client::new();
    let deadline = Instant::now() + Duration::from_secs(240);
    loop {
        match client.get(format!("{base}/health")).send() {
            Ok(r) if r.status() == 200 => break,
            _ if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(100)),
            other => panic!("server did not come up: {other:?}"),
        }
    }
    let r = client.get(format!("{base}/api/v1/threats")).send().unwrap();
    assert_eq!(r.status(), 401);
    let r = client
        .get(format!("{base}/api/v1/threats"))
        .bearer_auth("tcn_wrong")
        .send()
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = client
        .get(format!("{base}/api/v1/threats"))
        .bearer_auth(token)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let body = r.text().unwrap();
    assert!(body.contains("moscow-2024-03"), "{body}");
    let r = client
        .get(format!("{base}/api/v1/timeline?threat=moscow-2024-03"))
        .bearer_auth(token)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().unwrap().contains("posture_escalated"));
}
