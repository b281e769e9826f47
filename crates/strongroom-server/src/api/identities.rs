//! Identities, their credentials and the trusted external issuers, under `/strongroom/v1`.
//! Administrators only.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use strongroom_api::admin::{
    CredentialCreate, CredentialCreated, CredentialInfo, IdentityCreate, IdentityCreated,
    IdentityDetails, IdentityInfo, IdentityList, IssuerInfo, IssuerList,
};
use strongroom_core::DomainError;
use strongroom_core::identity::{Credential, CredentialKind, Identity, IssuerKeys, TrustedIssuer};
use strongroom_core::names::IdentityName;
use strongroom_service::identities::NewCredential;

use crate::error::ApiResult;
use crate::extract::{AzJson, RequestCaller};
use crate::state::AppState;

fn identity_info(i: &Identity) -> IdentityInfo {
    IdentityInfo {
        name: i.name.to_string(),
        client_id: i.client_id.clone(),
        object_id: i.object_id.clone(),
        kind: i.kind.to_string(),
        admin: i.admin,
        created: i.created,
    }
}

fn credential_info(c: &Credential) -> CredentialInfo {
    let mut info = CredentialInfo {
        id: c.id.clone(),
        kind: c.kind.as_str().to_owned(),
        hint: None,
        thumbprint: None,
        issuer: None,
        subject: None,
        audiences: Vec::new(),
        created: c.created,
        expires: c.expires,
    };
    match &c.kind {
        CredentialKind::Secret { hint, .. } => info.hint = Some(hint.clone()),
        CredentialKind::Certificate { x5t, .. } => info.thumbprint = Some(x5t.clone()),
        CredentialKind::Federated {
            issuer,
            subject,
            audiences,
        } => {
            info.issuer = Some(issuer.clone());
            info.subject = Some(subject.clone());
            info.audiences = audiences.clone();
        }
        CredentialKind::Password { .. } => {}
    }
    info
}

/// The environment a workload sets to use an application.
pub fn identity_env(
    s: &AppState,
    identity: &Identity,
    secret: &str,
    ca_file: &str,
) -> BTreeMap<String, String> {
    let base = format!("https://127.0.0.1:{}", s.public_port);
    BTreeMap::from([
        ("IDENTITY_ENDPOINT".to_owned(), format!("{base}/msi/token")),
        ("IDENTITY_HEADER".to_owned(), secret.to_owned()),
        (
            "AZURE_TOKEN_CREDENTIALS".to_owned(),
            "ManagedIdentityCredential".to_owned(),
        ),
        ("REQUESTS_CA_BUNDLE".to_owned(), ca_file.to_owned()),
        ("SSL_CERT_FILE".to_owned(), ca_file.to_owned()),
        (
            "STRONGROOM_CLIENT_ID".to_owned(),
            identity.client_id.clone(),
        ),
    ])
}

/// `POST /strongroom/v1/identities/{name}`.
pub async fn create(
    State(s): State<AppState>,
    RequestCaller(c): RequestCaller,
    Path(n): Path<String>,
    AzJson(p): AzJson<IdentityCreate>,
) -> ApiResult<(StatusCode, Json<IdentityCreated>)> {
    let name: IdentityName = n.parse()?;
    let (identity, secret) = s
        .auth
        .create_identity(&c, name, p.admin, p.password)
        .await?;
    let ca = s
        .config
        .data_dir
        .join("tls")
        .join("ca.pem")
        .display()
        .to_string();
    let env = secret
        .as_deref()
        .map(|secret| identity_env(&s, &identity, secret, &ca))
        .unwrap_or_default();
    Ok((
        StatusCode::CREATED,
        Json(IdentityCreated {
            identity: identity_info(&identity),
            client_secret: secret,
            tenant_id: s.auth.tenant().to_owned(),
            env,
        }),
    ))
}

/// `GET /strongroom/v1/identities`.
pub async fn list(
    State(s): State<AppState>,
    RequestCaller(c): RequestCaller,
) -> ApiResult<Json<IdentityList>> {
    let all = s.auth.identities(&c).await?;
    Ok(Json(IdentityList {
        value: all.iter().map(identity_info).collect(),
    }))
}

/// `GET /strongroom/v1/identities/{name}`: the identity with its credentials.
pub async fn show(
    State(s): State<AppState>,
    RequestCaller(c): RequestCaller,
    Path(n): Path<String>,
) -> ApiResult<Json<IdentityDetails>> {
    let name: IdentityName = n.parse()?;
    let (identity, credentials) = s.auth.identity(&c, &name).await?;
    Ok(Json(IdentityDetails {
        identity: identity_info(&identity),
        credentials: credentials.iter().map(credential_info).collect(),
    }))
}

/// `DELETE /strongroom/v1/identities/{name}`.
pub async fn delete(
    State(s): State<AppState>,
    RequestCaller(c): RequestCaller,
    Path(n): Path<String>,
) -> ApiResult<StatusCode> {
    let name: IdentityName = n.parse()?;
    s.auth.delete_identity(&c, &name).await?;
    Ok(StatusCode::OK)
}

fn new_credential(p: CredentialCreate) -> Result<NewCredential, DomainError> {
    let given = [
        p.secret,
        p.certificate.is_some(),
        p.issuer.is_some() || p.subject.is_some(),
        p.password.is_some(),
    ];
    if given.iter().filter(|g| **g).count() != 1 {
        return Err(DomainError::bad(
            "Give exactly one of secret, certificate, issuer with subject, or password.",
        ));
    }
    Ok(match p {
        CredentialCreate {
            secret: true,
            expires,
            ..
        } => NewCredential::Secret { expires },
        CredentialCreate {
            certificate: Some(pem),
            ..
        } => NewCredential::Certificate {
            certificate: pem.into_bytes(),
        },
        CredentialCreate {
            password: Some(password),
            ..
        } => NewCredential::Password { password },
        CredentialCreate {
            issuer,
            subject,
            audiences,
            ..
        } => NewCredential::Federated {
            issuer: issuer
                .ok_or_else(|| DomainError::bad("A federated credential needs an issuer."))?,
            subject: subject
                .ok_or_else(|| DomainError::bad("A federated credential needs a subject."))?,
            audiences,
        },
    })
}

/// `POST /strongroom/v1/identities/{name}/credentials`.
pub async fn add_credential(
    State(s): State<AppState>,
    RequestCaller(c): RequestCaller,
    Path(n): Path<String>,
    AzJson(p): AzJson<CredentialCreate>,
) -> ApiResult<(StatusCode, Json<CredentialCreated>)> {
    let name: IdentityName = n.parse()?;
    let (credential, secret) = s.auth.add_credential(&c, &name, new_credential(p)?).await?;
    Ok((
        StatusCode::CREATED,
        Json(CredentialCreated {
            credential: credential_info(&credential),
            client_secret: secret,
        }),
    ))
}

/// `DELETE /strongroom/v1/identities/{name}/credentials/{id}`.
pub async fn remove_credential(
    State(s): State<AppState>,
    RequestCaller(c): RequestCaller,
    Path((n, id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let name: IdentityName = n.parse()?;
    s.auth.remove_credential(&c, &name, &id).await?;
    Ok(StatusCode::OK)
}

fn issuer_info(i: &TrustedIssuer) -> IssuerInfo {
    IssuerInfo {
        issuer: i.issuer.clone(),
        jwks: match &i.keys {
            IssuerKeys::Jwks(text) => serde_json::from_str(text).ok(),
            IssuerKeys::Discovery => None,
        },
        principal_claim: i.principal_claim.clone(),
        audiences: i.audiences.clone(),
        created: i.created,
    }
}

/// `GET /strongroom/v1/issuers`.
pub async fn list_issuers(
    State(s): State<AppState>,
    RequestCaller(c): RequestCaller,
) -> ApiResult<Json<IssuerList>> {
    let all = s.auth.trusted_issuers(&c).await?;
    Ok(Json(IssuerList {
        value: all.iter().map(issuer_info).collect(),
    }))
}

/// `PUT /strongroom/v1/issuers`: trusts the issuer of the body (or changes how).
pub async fn put_issuer(
    State(s): State<AppState>,
    RequestCaller(c): RequestCaller,
    AzJson(p): AzJson<IssuerInfo>,
) -> ApiResult<Json<IssuerInfo>> {
    let issuer = TrustedIssuer {
        issuer: p.issuer,
        keys: match p.jwks {
            Some(jwks) => IssuerKeys::Jwks(jwks.to_string()),
            None => IssuerKeys::Discovery,
        },
        principal_claim: p.principal_claim,
        audiences: p.audiences,
        created: 0,
    };
    let stored = s.auth.trust_issuer(&c, issuer).await?;
    Ok(Json(issuer_info(&stored)))
}

/// Names an issuer in a query.
#[derive(Deserialize)]
pub struct IssuerQuery {
    issuer: String,
}

/// `DELETE /strongroom/v1/issuers?issuer=URL`.
pub async fn delete_issuer(
    State(s): State<AppState>,
    RequestCaller(c): RequestCaller,
    Query(q): Query<IssuerQuery>,
) -> ApiResult<StatusCode> {
    s.auth.distrust_issuer(&c, &q.issuer).await?;
    Ok(StatusCode::OK)
}
