//! The one Azure Resource Manager call the Azure CLI makes when it logs in:
//! `GET /subscriptions?api-version=…` lists the subscriptions the token's identity can use.
//! A Strongroom deployment is one subscription: its id is made once, at the first start, and
//! kept in the database, so every node answers the same.

use axum::Json;
use axum::extract::{Query, State};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::state::AppState;

/// The query of an ARM call.
#[derive(Debug, Deserialize)]
pub struct ArmQuery {
    #[serde(rename = "api-version")]
    api_version: Option<String>,
}

/// `GET /subscriptions`: the deployment's subscription, in ARM's list shape.
pub async fn subscriptions(
    State(s): State<AppState>,
    Query(query): Query<ArmQuery>,
) -> Result<Json<Value>, ApiError> {
    if query.api_version.as_deref().is_none_or(str::is_empty) {
        return Err(ApiError::MissingArmApiVersion);
    }
    let id = &s.subscription_id;
    Ok(Json(json!({
        "value": [{
            "id": format!("/subscriptions/{id}"),
            "subscriptionId": id,
            "tenantId": s.auth.tenant(),
            "displayName": "Strongroom",
            "state": "Enabled",
            "subscriptionPolicies": {
                "locationPlacementId": "Public_2014-09-01",
                "quotaId": "Strongroom",
                "spendingLimit": "Off"
            },
            "authorizationSource": "RoleBased",
            "managedByTenants": []
        }],
        "count": {"type": "Total", "value": 1}
    })))
}
