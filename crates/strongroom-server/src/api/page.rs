//! Paging: `$skiptoken` continuation tokens and absolute `nextLink`s built from the host the
//! client used.

use strongroom_core::DomainError;
use strongroom_core::b64;
use strongroom_core::names::KeyName;

use crate::error::ApiError;
use crate::extract::DataQuery;
use crate::routing::RequestCtx;

fn bad_token() -> ApiError {
    ApiError::Domain(DomainError::bad("The $skiptoken is not valid."))
}

/// The token continuing after `name`.
pub fn encode_name(name: &KeyName) -> String {
    b64::encode(name.as_str())
}

/// The name a name token continues after.
pub fn name_token(token: Option<&str>) -> Result<Option<KeyName>, ApiError> {
    token
        .map(|t| {
            let bytes = b64::decode(t).map_err(|_| bad_token())?;
            String::from_utf8(bytes)
                .map_err(|_| bad_token())?
                .parse()
                .map_err(|_| bad_token())
        })
        .transpose()
}

/// The offset an offset token stands for.
pub fn offset_token(token: Option<&str>) -> Result<usize, ApiError> {
    token.map_or(Ok(0), |t| t.parse().map_err(|_| bad_token()))
}

/// `https://{host}{path}?api-version=...&$skiptoken=...&maxresults=...`.
pub fn next_link(ctx: &RequestCtx, path: &str, q: &DataQuery, token: &str, size: usize) -> String {
    let version = q
        .api_version
        .as_deref()
        .unwrap_or(strongroom_api::version::CLIENT_DEFAULT);
    let encode = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    format!(
        "{}{path}?api-version={}&$skiptoken={}&maxresults={size}",
        ctx.base_url(),
        encode(version),
        encode(token)
    )
}
