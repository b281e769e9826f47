//! PROXY protocol version 2 behind a TLS-passthrough load balancer (HAProxy `send-proxy-v2`,
//! nginx `proxy_protocol on;`): with `proxy_protocol = true` every connection must begin with
//! the binary header, read before the TLS handshake, and the client address it carries is the
//! one requests, authorization and audit events see. A connection without a valid header is
//! closed: a balancer that forgot it, or a client going round the balancer.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use axum::Extension;
use axum::extract::connect_info::ConnectInfo;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::net::TcpStream;
use tower::Layer;

/// The 12-byte signature that opens a version 2 header.
const SIGNATURE: [u8; 12] = *b"\r\n\r\n\0\r\nQUIT\n";
/// Time allowed for the header to arrive.
const HEADER_TIMEOUT: Duration = Duration::from_secs(5);

/// The client a PROXY header named, as a request extension (`None` when the header was a
/// `LOCAL` health check of the balancer itself, or named no internet address).
#[derive(Debug, Clone, Copy)]
pub struct ProxiedClient(pub Option<SocketAddr>);

/// Reads a version 2 header from `stream`: the source address it carries, `None` for `LOCAL`
/// or an address family other than TCP over IPv4 or IPv6.
pub async fn read_header<R: AsyncRead + Unpin>(stream: &mut R) -> io::Result<Option<SocketAddr>> {
    let invalid = |m: &str| io::Error::new(io::ErrorKind::InvalidData, format!("PROXY v2: {m}"));
    let mut fixed = [0u8; 16];
    stream.read_exact(&mut fixed).await?;
    let (signature, rest) = fixed.split_at(12);
    if signature != SIGNATURE {
        return Err(invalid(
            "the connection does not begin with a PROXY v2 header",
        ));
    }
    let [version_command, family, len_hi, len_lo] =
        <[u8; 4]>::try_from(rest).map_err(|_| invalid("short header"))?;
    if version_command >> 4 != 2 {
        return Err(invalid("not version 2"));
    }
    let mut body = vec![0u8; usize::from(u16::from_be_bytes([len_hi, len_lo]))];
    stream.read_exact(&mut body).await?;
    match version_command & 0x0f {
        0 => return Ok(None),
        1 => {}
        _ => return Err(invalid("unknown command")),
    }
    let port = |b: &[u8]| {
        b.get(..2)
            .and_then(|p| <[u8; 2]>::try_from(p).ok())
            .map(u16::from_be_bytes)
    };
    Ok(match family {
        0x11 => {
            let src: [u8; 4] = body
                .get(..4)
                .and_then(|s| s.try_into().ok())
                .ok_or_else(|| invalid("short IPv4 addresses"))?;
            let ip = Ipv4Addr::from(src);
            let port = body
                .get(8..10)
                .and_then(port)
                .ok_or_else(|| invalid("short ports"))?;
            Some(SocketAddr::new(IpAddr::V4(ip), port))
        }
        0x21 => {
            let src: [u8; 16] = body
                .get(..16)
                .and_then(|s| s.try_into().ok())
                .ok_or_else(|| invalid("short IPv6 addresses"))?;
            let port = body
                .get(32..34)
                .and_then(port)
                .ok_or_else(|| invalid("short ports"))?;
            Some(SocketAddr::new(IpAddr::V6(Ipv6Addr::from(src)), port))
        }
        _ => None,
    })
}

/// The acceptor that runs before TLS: reads the PROXY header when `enabled`, and hands the
/// client it names to every request of the connection.
#[derive(Debug, Clone, Copy)]
pub struct ProxyAcceptor {
    /// Whether connections carry a PROXY v2 header.
    pub enabled: bool,
}

impl<S: Send + 'static> axum_server::accept::Accept<TcpStream, S> for ProxyAcceptor {
    type Stream = TcpStream;
    type Service = axum::middleware::AddExtension<S, ProxiedClient>;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = io::Result<(Self::Stream, Self::Service)>> + Send>,
    >;

    fn accept(&self, mut stream: TcpStream, service: S) -> Self::Future {
        let enabled = self.enabled;
        Box::pin(async move {
            let client = if enabled {
                tokio::time::timeout(HEADER_TIMEOUT, read_header(&mut stream))
                    .await
                    .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "PROXY v2: no header"))??
            } else {
                None
            };
            Ok((stream, Extension(ProxiedClient(client)).layer(service)))
        })
    }
}

/// The client address of a request: the PROXY header's, else the socket's peer.
pub fn client_address(extensions: &axum::http::Extensions) -> Option<IpAddr> {
    extensions
        .get::<ProxiedClient>()
        .and_then(|p| p.0)
        .or_else(|| extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0))
        .map(|a| a.ip())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(command: u8, family: u8, body: &[u8]) -> Vec<u8> {
        let mut h = SIGNATURE.to_vec();
        h.push(0x20 | command);
        h.push(family);
        h.extend(u16::try_from(body.len()).unwrap().to_be_bytes());
        h.extend(body);
        h
    }

    #[tokio::test]
    async fn headers_name_the_client() {
        let v4 = header(
            1,
            0x11,
            &[203, 0, 113, 7, 10, 0, 0, 1, 0xc3, 0x50, 0x20, 0xfb],
        );
        let mut stream = &[v4.as_slice(), b"\x16\x03\x01"].concat()[..];
        assert_eq!(
            read_header(&mut stream).await.unwrap(),
            Some("203.0.113.7:50000".parse().unwrap())
        );
        assert_eq!(stream, b"\x16\x03\x01", "the TLS hello is left unread");

        let mut body = vec![0x20, 0x01, 0x0d, 0xb8];
        body.extend([0u8; 11]);
        body.push(9);
        body.extend([0u8; 16]);
        body.extend([0x01, 0xbb, 0x20, 0xfb]);
        let v6 = header(1, 0x21, &body);
        assert_eq!(
            read_header(&mut &v6[..]).await.unwrap(),
            Some("[2001:db8::9]:443".parse().unwrap())
        );
        assert_eq!(
            read_header(&mut &header(0, 0, &[])[..]).await.unwrap(),
            None,
            "LOCAL"
        );
        assert_eq!(
            read_header(&mut &header(1, 0x31, &[0; 216])[..])
                .await
                .unwrap(),
            None,
            "unix"
        );
    }

    #[tokio::test]
    async fn anything_else_is_refused() {
        assert!(
            read_header(&mut &b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03abcdef"[..])
                .await
                .is_err()
        );
        assert!(
            read_header(&mut &b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n"[..])
                .await
                .is_err(),
            "v1 text"
        );
        assert!(
            read_header(&mut &header(1, 0x11, &[1, 2, 3])[..])
                .await
                .is_err(),
            "short"
        );
        let mut truncated = header(1, 0x11, &[0; 12]);
        truncated.truncate(20);
        assert!(read_header(&mut &truncated[..]).await.is_err());
    }
}
