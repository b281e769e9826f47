//! The Azure error envelope: `{"error":{"code","message","innererror":{"code"}}}`.

use serde::{Deserialize, Serialize};

/// `KeyVaultError`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ErrorEnvelope {
    /// The error.
    pub error: ErrorBody,
}

/// `Error`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ErrorBody {
    /// Machine-readable code, such as `KeyNotFound`.
    pub code: String,
    /// Human-readable message.
    pub message: String,
    /// A more specific code, such as `ObjectIsDeletedButRecoverable`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub innererror: Option<Box<InnerError>>,
}

/// An inner error: a code and, recursively, another inner error.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct InnerError {
    /// The code.
    pub code: String,
    /// Deeper detail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub innererror: Option<Box<InnerError>>,
}

impl ErrorEnvelope {
    /// An envelope with a code, message and optional inner code.
    pub fn new(code: &str, message: impl Into<String>, inner: Option<&str>) -> Self {
        Self {
            error: ErrorBody {
                code: code.to_owned(),
                message: message.into(),
                innererror: inner.map(|c| {
                    Box::new(InnerError {
                        code: c.to_owned(),
                        innererror: None,
                    })
                }),
            },
        }
    }
}
