//! A lean HTTP/1.1-over-TLS load generator for `bench`: one keep-alive connection per request
//! in flight, each request serialised once and written with one call, each response read by
//! its `Content-Length`. It costs far less CPU per request than a general-purpose client, so
//! more of the machine is left to the server being measured.

use std::net::SocketAddr;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

/// Where requests go.
#[derive(Clone)]
pub struct Target {
    addr: SocketAddr,
    name: String,
    host: ServerName<'static>,
    connector: TlsConnector,
}

impl Target {
    /// A target: connect to `addr`, present `host` (SNI and `Host`), trust `ca_file`.
    pub fn new(addr: SocketAddr, host: &str, ca_file: Option<&str>) -> anyhow::Result<Self> {
        let mut roots = rustls::RootCertStore::empty();
        if let Some(ca) = ca_file {
            for cert in CertificateDer::pem_file_iter(ca)? {
                roots.add(cert?)?;
            }
        }
        let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Self {
            addr,
            name: host.to_owned(),
            host: ServerName::try_from(host.to_owned())?,
            connector: TlsConnector::from(Arc::new(config)),
        })
    }

    /// The same host name at another address, trusting another CA.
    pub fn elsewhere(&self, addr: SocketAddr, ca_file: Option<&str>) -> anyhow::Result<Self> {
        Self::new(addr, &self.name, ca_file)
    }

    /// Opens a connection.
    pub async fn connect(&self) -> anyhow::Result<Connection> {
        let tcp = TcpStream::connect(self.addr).await?;
        tcp.set_nodelay(true)?;
        let stream = self.connector.connect(self.host.clone(), tcp).await?;
        Ok(Connection {
            stream,
            buf: Vec::with_capacity(16 * 1024),
            head_end: 0,
        })
    }
}

/// One keep-alive connection.
pub struct Connection {
    stream: TlsStream<TcpStream>,
    buf: Vec<u8>,
    /// Where the last response's body starts in `buf`.
    head_end: usize,
}

/// Serialises a request once.
pub fn request(
    method: &str,
    authority: &str,
    path: &str,
    token: &str,
    body: Option<&[u8]>,
) -> Vec<u8> {
    let mut out = format!("{method} {path} HTTP/1.1\r\nHost: {authority}\r\nAuthorization: Bearer {token}\r\nAccept: application/json\r\n").into_bytes();
    match body {
        Some(body) => {
            out.extend_from_slice(
                format!(
                    "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                    body.len()
                )
                .as_bytes(),
            );
            out.extend_from_slice(body);
        }
        None => out.extend_from_slice(b"\r\n"),
    }
    out
}

impl Connection {
    /// Sends a serialised request and reads the whole response; returns its status.
    pub async fn round_trip(&mut self, request: &[u8]) -> anyhow::Result<u16> {
        self.stream.write_all(request).await?;
        self.buf.clear();
        let mut chunk = [0u8; 16 * 1024];
        let (head_end, status, length) = loop {
            let n = self.stream.read(&mut chunk).await?;
            anyhow::ensure!(n > 0, "the server closed the connection");
            self.buf
                .extend_from_slice(chunk.get(..n).unwrap_or_default());
            if let Some(end) = find(&self.buf, b"\r\n\r\n") {
                let head = std::str::from_utf8(self.buf.get(..end).unwrap_or_default())?;
                break (end + 4, status_of(head)?, content_length(head));
            }
        };
        while self.buf.len() < head_end + length {
            let n = self.stream.read(&mut chunk).await?;
            anyhow::ensure!(n > 0, "the server closed the connection");
            self.buf
                .extend_from_slice(chunk.get(..n).unwrap_or_default());
        }
        self.head_end = head_end;
        Ok(status)
    }

    /// The body of the last response.
    pub fn body(&self) -> &[u8] {
        self.buf.get(self.head_end..).unwrap_or_default()
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn status_of(head: &str) -> anyhow::Result<u16> {
    let line = head.lines().next().unwrap_or_default();
    Ok(line.split_whitespace().nth(1).unwrap_or_default().parse()?)
}

fn content_length(head: &str) -> usize {
    head.lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_response_heads() {
        let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nContent-Length: 42";
        assert_eq!(status_of(head).unwrap(), 200);
        assert_eq!(content_length(head), 42);
        assert_eq!(content_length("HTTP/1.1 204 No Content"), 0);
        assert_eq!(find(b"ab\r\n\r\ncd", b"\r\n\r\n"), Some(2));
        let r = request("POST", "h:1", "/p", "t", Some(b"{}"));
        assert!(
            String::from_utf8(r)
                .unwrap()
                .ends_with("Content-Length: 2\r\n\r\n{}")
        );
    }
}
