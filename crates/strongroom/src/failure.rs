//! How a failed command reports itself: one line, `error: <code>: <message>`, on stderr (the
//! whole answer of the server with `--debug`), and an exit status that tells the kind of
//! failure, as the top-level help documents:
//!
//! | status | meaning |
//! |---|---|
//! | 0 | success |
//! | 1 | the request was refused (bad input, conflict) or failed for another reason |
//! | 2 | the command line is wrong (clap's usage errors) |
//! | 3 | no such vault, pool, key or version (404) |
//! | 4 | not authenticated or not allowed (401, 403) |
//! | 5 | the server failed or is busy (5xx, 429) |
//! | 6 | the server cannot be reached (connection, TLS, name resolution) |

use reqwest::StatusCode;
use serde_json::Value;
use strongroom_client::ClientError;

/// A failure as printed and as the exit status.
#[derive(Debug, PartialEq, Eq)]
pub struct Report {
    /// The exit status.
    pub status: u8,
    /// The one line printed.
    pub line: String,
    /// The whole story, printed instead with `--debug`.
    pub detail: String,
}

/// How `error` is reported.
pub fn report(error: &anyhow::Error) -> Report {
    let chain = format!("{error:#}");
    let client = error.chain().find_map(|e| e.downcast_ref::<ClientError>());
    let (status, code, message, detail) = match client {
        Some(ClientError::Server { status, body }) => {
            let (code, message) = envelope(*status, body);
            let detail = format!("HTTP {status}\n{body}");
            // The token service refuses a wrong password with 400 invalid_grant: not
            // authenticated, like a 401.
            let refused_login = body.contains("\"invalid_grant\"");
            let exit = if refused_login {
                4
            } else {
                exit_status(*status)
            };
            (exit, code, message, detail)
        }
        Some(ClientError::Http(e)) if e.is_connect() || e.is_timeout() => (
            6,
            "ConnectionFailed".to_owned(),
            chain.clone(),
            format!("{e:?}"),
        ),
        Some(ClientError::Http(e)) => (
            1,
            "RequestFailed".to_owned(),
            chain.clone(),
            format!("{e:?}"),
        ),
        Some(ClientError::Setup(_)) => (1, "InvalidSetup".to_owned(), chain.clone(), chain.clone()),
        None => (
            1,
            "CommandFailed".to_owned(),
            chain.clone(),
            format!("{error:?}"),
        ),
    };
    Report {
        status,
        line: format!("error: {code}: {}", one_line(&message)),
        detail: format!("error: {code}: {message}\n{detail}"),
    }
}

fn exit_status(status: StatusCode) -> u8 {
    match status.as_u16() {
        404 => 3,
        401 | 403 => 4,
        429 | 500..=599 => 5,
        _ => 1,
    }
}

/// The code and message of Azure's error envelope, or the status when the body is not one.
fn envelope(status: StatusCode, body: &str) -> (String, String) {
    let parsed: Option<Value> = serde_json::from_str(body).ok();
    let field = |k: &str| {
        parsed
            .as_ref()
            .and_then(|v| v.pointer(&format!("/error/{k}")))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    match (field("code"), field("message")) {
        (Some(code), Some(message)) => (code, message),
        (Some(code), None) => (code, status.to_string()),
        _ => {
            let reason = status
                .canonical_reason()
                .unwrap_or("Error")
                .replace(' ', "");
            let text = body.trim();
            let message = if text.is_empty() {
                status.to_string()
            } else {
                text.to_owned()
            };
            (reason, message)
        }
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(status: u16, body: &str) -> anyhow::Error {
        anyhow::Error::new(ClientError::Server {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::IM_A_TEAPOT),
            body: body.to_owned(),
        })
    }

    #[test]
    fn server_errors_print_code_and_message_on_one_line() {
        let body = r#"{"error":{"code":"KeyNotFound","message":"A key with (name/id) k was not found in this key vault.\nSee docs."}}"#;
        let r = report(&server(404, body));
        assert_eq!(r.status, 3);
        assert_eq!(
            r.line,
            "error: KeyNotFound: A key with (name/id) k was not found in this key vault. See docs."
        );
        assert!(r.detail.contains("HTTP 404 Not Found") && r.detail.contains(body));
    }

    #[test]
    fn statuses_tell_the_kind_of_failure() {
        let e = r#"{"error":{"code":"C","message":"m"}}"#;
        for (status, exit) in [
            (400, 1),
            (409, 1),
            (401, 4),
            (403, 4),
            (404, 3),
            (429, 5),
            (500, 5),
            (503, 5),
        ] {
            assert_eq!(report(&server(status, e)).status, exit, "{status}");
        }
        let r = report(&server(502, "<html>bad gateway</html>"));
        assert_eq!(r.line, "error: BadGateway: <html>bad gateway</html>");
        let r = report(&anyhow::anyhow!("cannot read k.json").context("reading the JWK"));
        assert_eq!(
            (r.status, r.line.as_str()),
            (
                1,
                "error: CommandFailed: reading the JWK: cannot read k.json"
            )
        );
        let setup = anyhow::Error::new(ClientError::Setup("cannot read creds.json".into()))
            .context("using credentials creds.json");
        assert_eq!(
            report(&setup).line,
            "error: InvalidSetup: using credentials creds.json: cannot read creds.json"
        );
    }
}
