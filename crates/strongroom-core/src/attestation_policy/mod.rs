//! Microsoft Azure Attestation's policy language, versions 1.0, 1.1 and 1.2: a policy is parsed
//! once (errors give the line and column) and then evaluated against the claims of each piece
//! of evidence.
//!
//! ```text
//! version=1.0;
//! authorizationrules {
//!     c:[type=="x-ms-sgx-is-debuggable", value==false] => permit();
//! };
//! issuancerules {
//!     c:[type=="x-ms-sgx-mrsigner"] => issue(type="sgx-mrsigner", value=c.value);
//! };
//! ```
//!
//! Of the 1.2 functions, `AppendString` and `NegateBool` are evaluated; a policy calling any
//! other parses, and its evaluation reports the function as not available.

pub mod defaults;
mod eval;
mod lex;
mod parse;

pub use eval::Outcome;
pub use parse::{
    Action, ActionKind, Condition, Expr, Literal, NewClaim, Op, Policy, PropCondition, Property,
    Rule,
};

/// The issuer of the claims the service takes from evidence.
pub const ISSUER_SERVICE: &str = "AttestationService";
/// The issuer of the claims a policy adds or issues.
pub const ISSUER_POLICY: &str = "AttestationPolicy";
/// The issuer of the claims a client supplies.
pub const ISSUER_CUSTOM: &str = "CustomClaim";

/// A policy that cannot be read or applied, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct PolicyError {
    /// Line (1-based).
    pub line: usize,
    /// Column (1-based; 1 for errors of evaluation, which name the rule's line).
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

impl PolicyError {
    fn at(line: usize, column: usize, message: impl Into<String>) -> Self {
        Self {
            line,
            column,
            message: message.into(),
        }
    }

    fn eval(line: usize, message: impl Into<String>) -> Self {
        Self::at(line, 1, message)
    }
}

/// A claim's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimValue {
    /// A string.
    Str(String),
    /// An integer.
    Int(i64),
    /// A boolean.
    Bool(bool),
}

impl ClaimValue {
    /// Its `valueType`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Str(_) => "String",
            Self::Int(_) => "Integer",
            Self::Bool(_) => "Boolean",
        }
    }

    /// As JSON, for a token.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Self::Str(s) => s.clone().into(),
            Self::Int(n) => (*n).into(),
            Self::Bool(b) => (*b).into(),
        }
    }
}

/// A claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// Its type (`x-ms-sgx-mrsigner`).
    pub claim_type: String,
    /// Its value.
    pub value: ClaimValue,
    /// Who issued it: `AttestationService`, `AttestationPolicy` or `CustomClaim`.
    pub issuer: String,
}

impl Claim {
    /// A claim the service took from evidence.
    pub fn from_evidence(claim_type: &str, value: ClaimValue) -> Self {
        Self {
            claim_type: claim_type.to_owned(),
            value,
            issuer: ISSUER_SERVICE.to_owned(),
        }
    }
}

impl Policy {
    /// Parses a policy's text.
    pub fn parse(text: &str) -> Result<Self, PolicyError> {
        parse::parse(text)
    }

    /// Applies it to the claims of the evidence.
    pub fn evaluate(&self, evidence: Vec<Claim>) -> Result<Outcome, PolicyError> {
        eval::evaluate(self, evidence)
    }
}

#[cfg(test)]
mod tests;
