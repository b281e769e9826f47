//! PROXY protocol v2: with `proxy_protocol = true` the client address of a connection is the
//! one its header names (in audit events too), and a connection without a header is closed.

use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::TestApp;

/// A PROXY v2 header for a TCP over IPv4 connection from `src`.
fn header(src: [u8; 4], port: u16) -> Vec<u8> {
    let mut h = b"\r\n\r\n\0\r\nQUIT\n".to_vec();
    h.extend([0x21, 0x11, 0, 12]);
    h.extend(src);
    h.extend([127, 0, 0, 1]);
    h.extend(port.to_be_bytes());
    h.extend(443u16.to_be_bytes());
    h
}

/// One HTTPS request over a connection that begins with `prefix`: the response's status and
/// JSON body, or the I/O error.
async fn raw_request(app: &TestApp, prefix: &[u8], request: &str) -> std::io::Result<(u16, Value)> {
    let ca = app.creds.ca_file.clone().unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(&ca).unwrap())
        .unwrap();
    let config = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let mut tcp = TcpStream::connect(("127.0.0.1", app.port)).await?;
    tcp.write_all(prefix).await?;
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let mut tls = connector
        .connect(ServerName::try_from("127.0.0.1").unwrap(), tcp)
        .await?;
    tls.write_all(request.as_bytes()).await?;
    let mut answer = Vec::new();
    tls.read_to_end(&mut answer).await?;
    let text = String::from_utf8_lossy(&answer);
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text.split("\r\n\r\n").nth(1).unwrap_or_default();
    Ok((status, serde_json::from_str(body).unwrap_or(Value::Null)))
}

#[tokio::test]
async fn the_proxy_header_names_the_client_and_is_required() {
    let app = TestApp::spawn_with(3600, |c| c.proxy_protocol = true).await;
    let form = format!(
        "grant_type=client_credentials&client_id={}&client_secret={}&scope=https%3A%2F%2F127.0.0.1%3A{}%2F.default",
        app.creds.client_id, app.creds.client_secret, app.port
    );
    let request = format!(
        "POST /strongroom/oauth2/v2.0/token HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{form}",
        app.port,
        form.len()
    );
    let (status, token) = raw_request(&app, &header([203, 0, 113, 7], 50_000), &request)
        .await
        .unwrap();
    assert_eq!(status, 200, "{token}");
    let bearer = token["access_token"].as_str().unwrap();

    let audit = format!(
        "GET /strongroom/v1/audit?operation=TokenIssue HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nAuthorization: Bearer {bearer}\r\nConnection: close\r\n\r\n",
        app.port
    );
    // Events reach the store within 100 ms.
    let mut clients = Vec::new();
    for _ in 0..50 {
        let (status, events) = raw_request(&app, &header([198, 51, 100, 1], 40_000), &audit)
            .await
            .unwrap();
        assert_eq!(status, 200, "{events}");
        clients = events["value"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e["client"].as_str().map(str::to_owned))
            .collect();
        if !clients.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(clients.contains(&"203.0.113.7".to_owned()), "{clients:?}");

    let without = raw_request(&app, b"", &audit).await;
    assert!(
        without.is_err(),
        "a connection without the header is closed: {without:?}"
    );
}
