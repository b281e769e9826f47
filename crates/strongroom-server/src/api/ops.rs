//! Handlers for cryptographic operations and random bytes.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use strongroom_api::keys::{
    KeyOperationResult, KeyOperationsParameters, KeySignParameters, KeyVerifyParameters,
    KeyVerifyResult, RandomBytesRequest, ValueBlob,
};
use strongroom_core::DomainError;
use strongroom_core::b64;

use super::keys::{key_name, key_version};
use super::{convert, parse};
use crate::error::{ApiError, ApiResult};
use crate::extract::{AzJson, VaultAccess, parse_body};
use crate::state::AppState;
use strongroom_service::{CryptoRequest, CryptoResponse};

fn request(op: &str, body: &[u8]) -> Result<CryptoRequest, ApiError> {
    let cipher = |body: &[u8]| -> Result<_, ApiError> {
        Ok(parse::cipher_input(
            &parse_body::<KeyOperationsParameters>(body)?,
        )?)
    };
    Ok(match op {
        "encrypt" => CryptoRequest::Encrypt(cipher(body)?),
        "decrypt" => CryptoRequest::Decrypt(cipher(body)?),
        "wrapkey" => CryptoRequest::Wrap(cipher(body)?),
        "unwrapkey" => CryptoRequest::Unwrap(cipher(body)?),
        "sign" => {
            let p: KeySignParameters = parse_body(body)?;
            let alg = p
                .alg
                .as_deref()
                .ok_or_else(|| DomainError::bad("The parameter 'alg' is required."))?
                .parse()?;
            CryptoRequest::Sign {
                alg,
                digest: parse::bytes(&p.value, "value")?,
            }
        }
        "verify" => {
            let p: KeyVerifyParameters = parse_body(body)?;
            let alg = p
                .alg
                .as_deref()
                .ok_or_else(|| DomainError::bad("The parameter 'alg' is required."))?
                .parse()?;
            CryptoRequest::Verify {
                alg,
                digest: parse::bytes(&p.digest, "digest")?,
                signature: parse::bytes(&p.value, "value")?,
            }
        }
        _ => {
            return Err(ApiError::NotFound(format!(
                "The operation '{}' does not exist.",
                op.chars().take(32).collect::<String>()
            )));
        }
    })
}

/// `POST /keys/{name}/{version}/{op}`; an empty version means the latest.
pub async fn operate(
    State(s): State<AppState>,
    a: VaultAccess,
    Path((name, version, op)): Path<(String, String, String)>,
    body: Bytes,
) -> ApiResult<Response> {
    let name = key_name(&name)?;
    let request = request(&op, &body)?;
    let version = key_version(&name, &version)?;
    let (record, response) = s
        .keys
        .operate(&a.caller, &a.vault, &name, version.as_ref(), request)
        .await?;
    let kid = convert::kid(&a.ctx.base_url(), &record);
    Ok(match response {
        CryptoResponse::Cipher(out) => Json(KeyOperationResult {
            kid,
            value: b64::encode(out.value),
            iv: out.iv.map(b64::encode),
            tag: out.tag.map(b64::encode),
            aad: out.aad.map(b64::encode),
        })
        .into_response(),
        CryptoResponse::Signature(sig) => Json(KeyOperationResult {
            kid,
            value: b64::encode(sig),
            ..KeyOperationResult::default()
        })
        .into_response(),
        CryptoResponse::Verified(ok) => Json(KeyVerifyResult { value: ok }).into_response(),
    })
}

/// `POST /rng`.
pub async fn rng(
    State(s): State<AppState>,
    a: VaultAccess,
    AzJson(p): AzJson<RandomBytesRequest>,
) -> ApiResult<Json<ValueBlob>> {
    let count = p
        .count
        .ok_or_else(|| DomainError::bad("The parameter 'count' is required."))?;
    Ok(Json(ValueBlob {
        value: Some(b64::encode(
            s.keys.random_bytes(&a.caller, &a.vault, count).await?,
        )),
    }))
}
