//! Identities, their credentials and the trusted external issuers.

use serde_json::{Value, json};
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};
use strongroom_core::DomainError;
use strongroom_core::audit::WriteEvent;
use strongroom_core::b64;
use strongroom_core::error::DomainResult;
use strongroom_core::identity::{Credential, CredentialKind, Identity, IssuerKeys, TrustedIssuer};
use strongroom_core::names::IdentityName;

use crate::audit::commit_with;
use crate::changes::Change;
use crate::{SqlStore, is_unique_violation, storage};

fn corrupt(what: &str, e: impl std::fmt::Display) -> DomainError {
    DomainError::Storage(format!("corrupt {what}: {e}"))
}

const IDENTITY_COLUMNS: &str = "object_id, name, client_id, kind, admin, created";
const CREDENTIAL_COLUMNS: &str = "id, object_id, kind, secret_hash, data, created, expires";

fn identity_from_row(row: &AnyRow) -> DomainResult<Identity> {
    let name: String = row.try_get(1).map_err(storage)?;
    let kind: String = row.try_get(3).map_err(storage)?;
    Ok(Identity {
        object_id: row.try_get(0).map_err(storage)?,
        name: name.parse().map_err(|e| corrupt("identity", e))?,
        client_id: row.try_get(2).map_err(storage)?,
        kind: kind.parse().map_err(|e| corrupt("identity", e))?,
        admin: row.try_get::<i64, _>(4).map_err(storage)? != 0,
        created: row.try_get(5).map_err(storage)?,
    })
}

fn text(data: &Value, field: &str) -> DomainResult<String> {
    data.get(field)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| corrupt("credential", format!("no {field}")))
}

fn credential_from_row(row: &AnyRow) -> DomainResult<Credential> {
    let kind: String = row.try_get(2).map_err(storage)?;
    let hash: Option<String> = row.try_get(3).map_err(storage)?;
    let data: String = row.try_get(4).map_err(storage)?;
    let data: Value = serde_json::from_str(&data).map_err(|e| corrupt("credential", e))?;
    let kind = match kind.as_str() {
        "secret" => CredentialKind::Secret {
            hash: hash.ok_or_else(|| corrupt("credential", "a secret without its hash"))?,
            hint: text(&data, "hint")?,
        },
        "certificate" => CredentialKind::Certificate {
            x5t: text(&data, "x5t")?,
            x5t_s256: text(&data, "x5t_s256")?,
            der: b64::decode(&text(&data, "der")?).map_err(|e| corrupt("credential", e))?,
        },
        "federated" => CredentialKind::Federated {
            issuer: text(&data, "issuer")?,
            subject: text(&data, "subject")?,
            audiences: data
                .get("audiences")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
        },
        "password" => CredentialKind::Password {
            record: text(&data, "record")?,
        },
        other => return Err(corrupt("credential", format!("kind {other}"))),
    };
    Ok(Credential {
        id: row.try_get(0).map_err(storage)?,
        object_id: row.try_get(1).map_err(storage)?,
        kind,
        created: row.try_get(5).map_err(storage)?,
        expires: row.try_get(6).map_err(storage)?,
    })
}

/// The stored `secret_hash` column and `data` JSON of a credential.
fn credential_columns(kind: &CredentialKind) -> (Option<&str>, String) {
    match kind {
        CredentialKind::Secret { hash, hint } => (Some(hash), json!({"hint": hint}).to_string()),
        CredentialKind::Certificate { x5t, x5t_s256, der } => (
            None,
            json!({"x5t": x5t, "x5t_s256": x5t_s256, "der": b64::encode(der)}).to_string(),
        ),
        CredentialKind::Federated {
            issuer,
            subject,
            audiences,
        } => (
            None,
            json!({"issuer": issuer, "subject": subject, "audiences": audiences}).to_string(),
        ),
        CredentialKind::Password { record } => (None, json!({"record": record}).to_string()),
    }
}

fn issuer_from_row(row: &AnyRow) -> DomainResult<TrustedIssuer> {
    let jwks: Option<String> = row.try_get(1).map_err(storage)?;
    let audiences: String = row.try_get(3).map_err(storage)?;
    Ok(TrustedIssuer {
        issuer: row.try_get(0).map_err(storage)?,
        keys: jwks.map_or(IssuerKeys::Discovery, IssuerKeys::Jwks),
        principal_claim: row.try_get(2).map_err(storage)?,
        audiences: serde_json::from_str(&audiences).map_err(|e| corrupt("issuer", e))?,
        created: row.try_get(4).map_err(storage)?,
    })
}

async fn insert_credential_on<'c, E>(executor: E, c: &Credential) -> DomainResult<()>
where
    E: sqlx::Executor<'c, Database = sqlx::Any>,
{
    let (hash, data) = credential_columns(&c.kind);
    let sql = format!(
        "INSERT INTO credentials ({CREDENTIAL_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
    );
    sqlx::query(AssertSqlSafe(sql))
        .bind(c.id.as_str())
        .bind(c.object_id.as_str())
        .bind(c.kind.as_str())
        .bind(hash)
        .bind(data)
        .bind(c.created)
        .bind(c.expires)
        .execute(executor)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                DomainError::bad("That credential is already in use.")
            } else {
                storage(e)
            }
        })?;
    Ok(())
}

impl SqlStore {
    async fn identity_where(&self, column: &str, value: &str) -> DomainResult<Option<Identity>> {
        let sql = format!("SELECT {IDENTITY_COLUMNS} FROM identities WHERE {column} = $1");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(value)
            .fetch_optional(&self.pool)
            .await
            .map_err(storage)?;
        row.as_ref().map(identity_from_row).transpose()
    }

    pub(crate) async fn insert_identity_impl(
        &self,
        identity: &Identity,
        credentials: &[Credential],
        audit: &WriteEvent,
    ) -> DomainResult<()> {
        let mut tx = self.pool.begin().await.map_err(storage)?;
        let sql =
            format!("INSERT INTO identities ({IDENTITY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)");
        sqlx::query(AssertSqlSafe(sql))
            .bind(identity.object_id.as_str())
            .bind(identity.name.as_str())
            .bind(identity.client_id.as_str())
            .bind(identity.kind.as_str())
            .bind(i64::from(identity.admin))
            .bind(identity.created)
            .execute(&mut *tx)
            .await
            .map_err(|e| {
                if is_unique_violation(&e) {
                    DomainError::bad(format!(
                        "An identity named '{}' already exists.",
                        identity.name
                    ))
                } else {
                    storage(e)
                }
            })?;
        for credential in credentials {
            insert_credential_on(&mut *tx, credential).await?;
        }
        commit_with(tx, audit).await
    }

    pub(crate) async fn identity_by_secret_hash_impl(
        &self,
        secret_hash: &str,
    ) -> DomainResult<Option<(Identity, Credential)>> {
        let sql = format!(
            "SELECT {CREDENTIAL_COLUMNS} FROM credentials WHERE secret_hash = $1 AND kind = 'secret'"
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(secret_hash)
            .fetch_optional(&self.pool)
            .await
            .map_err(storage)?;
        let Some(credential) = row.as_ref().map(credential_from_row).transpose()? else {
            return Ok(None);
        };
        let identity = self
            .identity_where("object_id", &credential.object_id)
            .await?;
        Ok(identity.map(|i| (i, credential)))
    }

    pub(crate) async fn identity_by_client_id_impl(
        &self,
        client_id: &str,
    ) -> DomainResult<Option<Identity>> {
        self.identity_where("client_id", client_id).await
    }

    pub(crate) async fn identity_by_name_impl(
        &self,
        name: &IdentityName,
    ) -> DomainResult<Option<Identity>> {
        self.identity_where("name", name.as_str()).await
    }

    pub(crate) async fn identity_by_object_id_impl(
        &self,
        object_id: &str,
    ) -> DomainResult<Option<Identity>> {
        self.identity_where("object_id", object_id).await
    }

    pub(crate) async fn identities_impl(&self) -> DomainResult<Vec<Identity>> {
        let sql = format!("SELECT {IDENTITY_COLUMNS} FROM identities ORDER BY name");
        let rows = sqlx::query(AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await
            .map_err(storage)?;
        rows.iter().map(identity_from_row).collect()
    }

    pub(crate) async fn delete_identity_impl(
        &self,
        name: &IdentityName,
        audit: &WriteEvent,
    ) -> DomainResult<Option<Identity>> {
        let mut tx = self.pool.begin().await.map_err(storage)?;
        let sql = format!("DELETE FROM identities WHERE name = $1 RETURNING {IDENTITY_COLUMNS}");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(name.as_str())
            .fetch_optional(&mut *tx)
            .await
            .map_err(storage)?;
        let deleted = row.as_ref().map(identity_from_row).transpose()?;
        if let Some(identity) = &deleted {
            sqlx::query("DELETE FROM credentials WHERE object_id = $1")
                .bind(identity.object_id.as_str())
                .execute(&mut *tx)
                .await
                .map_err(storage)?;
        }
        if let Some(identity) = &deleted {
            commit_with(tx, audit).await?;
            self.announce(Change::Identity(identity.object_id.clone()))
                .await;
        }
        Ok(deleted)
    }

    pub(crate) async fn credentials_impl(&self, object_id: &str) -> DomainResult<Vec<Credential>> {
        let sql = format!(
            "SELECT {CREDENTIAL_COLUMNS} FROM credentials WHERE object_id = $1 ORDER BY created, id"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(object_id)
            .fetch_all(&self.pool)
            .await
            .map_err(storage)?;
        rows.iter().map(credential_from_row).collect()
    }

    pub(crate) async fn insert_credential_impl(
        &self,
        credential: &Credential,
        audit: &WriteEvent,
    ) -> DomainResult<()> {
        let mut tx = self.pool.begin().await.map_err(storage)?;
        insert_credential_on(&mut *tx, credential).await?;
        commit_with(tx, audit).await
    }

    pub(crate) async fn delete_credential_impl(
        &self,
        object_id: &str,
        id: &str,
        audit: &WriteEvent,
    ) -> DomainResult<bool> {
        let mut tx = self.pool.begin().await.map_err(storage)?;
        let done = sqlx::query("DELETE FROM credentials WHERE object_id = $1 AND id = $2")
            .bind(object_id)
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(storage)?;
        let removed = done.rows_affected() > 0;
        if removed {
            commit_with(tx, audit).await?;
            self.announce(Change::Identity(object_id.to_owned())).await;
        }
        Ok(removed)
    }

    pub(crate) async fn trusted_issuers_impl(&self) -> DomainResult<Vec<TrustedIssuer>> {
        let rows = sqlx::query(
            "SELECT issuer, jwks, principal_claim, audiences, created FROM trusted_issuers ORDER BY issuer",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(storage)?;
        rows.iter().map(issuer_from_row).collect()
    }

    pub(crate) async fn put_trusted_issuer_impl(
        &self,
        i: &TrustedIssuer,
        audit: &WriteEvent,
    ) -> DomainResult<()> {
        let mut tx = self.pool.begin().await.map_err(storage)?;
        let jwks = match &i.keys {
            IssuerKeys::Jwks(text) => Some(text.as_str()),
            IssuerKeys::Discovery => None,
        };
        let audiences = serde_json::to_string(&i.audiences)
            .map_err(|e| DomainError::Internal(e.to_string()))?;
        sqlx::query(
            "INSERT INTO trusted_issuers (issuer, jwks, principal_claim, audiences, created) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (issuer) DO UPDATE SET jwks = excluded.jwks, \
             principal_claim = excluded.principal_claim, audiences = excluded.audiences",
        )
        .bind(i.issuer.as_str())
        .bind(jwks)
        .bind(i.principal_claim.as_str())
        .bind(audiences)
        .bind(i.created)
        .execute(&mut *tx)
        .await
        .map_err(storage)?;
        commit_with(tx, audit).await?;
        self.announce(Change::Issuers).await;
        Ok(())
    }

    pub(crate) async fn delete_trusted_issuer_impl(
        &self,
        issuer: &str,
        audit: &WriteEvent,
    ) -> DomainResult<bool> {
        let mut tx = self.pool.begin().await.map_err(storage)?;
        let done = sqlx::query("DELETE FROM trusted_issuers WHERE issuer = $1")
            .bind(issuer)
            .execute(&mut *tx)
            .await
            .map_err(storage)?;
        let removed = done.rows_affected() > 0;
        if removed {
            commit_with(tx, audit).await?;
            self.announce(Change::Issuers).await;
        }
        Ok(removed)
    }
}
