//! Evaluation: configuration rules, then authorization rules (at least one `permit()` and no
//! `deny()` let the attestation proceed), then issuance rules. A rule fires once for every
//! combination of claims that satisfies its conditions, in order; a claim a rule adds is
//! visible to the rules after it.

use std::collections::BTreeMap;

use super::parse::{
    ActionKind, Condition, Expr, Literal, NewClaim, Op, Policy, PropCondition, Property, Rule,
};
use super::{Claim, ClaimValue, PolicyError};

/// The most times one rule may fire (combinations of matching claims).
const MAX_FIRINGS: usize = 10_000;
/// The most claims an evaluation may hold: rules that add claims cannot grow it without bound.
const MAX_CLAIMS: usize = 100_000;

/// What a policy decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Whether the authorization rules let the attestation proceed.
    pub permitted: bool,
    /// Claims issued into the token (the outgoing set), in order.
    pub issued: Vec<Claim>,
    /// Token properties (`issueproperty`).
    pub properties: Vec<Claim>,
}

/// Applies `policy` to the claims of the evidence.
pub fn evaluate(policy: &Policy, evidence: Vec<Claim>) -> Result<Outcome, PolicyError> {
    let mut sets = Sets {
        incoming: evidence,
        issued: Vec::new(),
        properties: Vec::new(),
    };
    for rule in &policy.configuration {
        apply(rule, &mut sets, &mut Verdict::default())?;
    }
    let mut verdict = Verdict::default();
    for rule in &policy.authorization {
        apply(rule, &mut sets, &mut verdict)?;
        if verdict.denied {
            break;
        }
    }
    let permitted = verdict.permitted && !verdict.denied;
    if permitted {
        for rule in &policy.issuance {
            apply(rule, &mut sets, &mut Verdict::default())?;
        }
    }
    Ok(Outcome {
        permitted,
        issued: if permitted { sets.issued } else { Vec::new() },
        properties: sets.properties,
    })
}

struct Sets {
    incoming: Vec<Claim>,
    issued: Vec<Claim>,
    properties: Vec<Claim>,
}

#[derive(Default)]
struct Verdict {
    permitted: bool,
    denied: bool,
}

type Bindings<'a> = BTreeMap<&'a str, &'a Claim>;

fn apply(rule: &Rule, sets: &mut Sets, verdict: &mut Verdict) -> Result<(), PolicyError> {
    let mut made = Vec::new();
    let mut firings = 0usize;
    {
        let incoming = &sets.incoming;
        let mut fire = |bindings: &Bindings<'_>| -> Result<(), PolicyError> {
            firings += 1;
            if firings > MAX_FIRINGS {
                return Err(PolicyError::eval(
                    rule.line,
                    format!("the rule fires more than {MAX_FIRINGS} times"),
                ));
            }
            match rule.action.kind {
                ActionKind::Permit => verdict.permitted = true,
                ActionKind::Deny => verdict.denied = true,
                kind => {
                    if let Some(claim) = new_claim(rule, bindings)? {
                        made.push((kind, claim));
                    }
                }
            }
            Ok(())
        };
        matches(
            rule,
            &rule.conditions,
            incoming,
            &mut Bindings::new(),
            &mut fire,
        )?;
    }
    if sets.incoming.len() + made.len() > MAX_CLAIMS {
        return Err(PolicyError::eval(
            rule.line,
            format!("the policy makes more than {MAX_CLAIMS} claims"),
        ));
    }
    for (kind, claim) in made {
        match kind {
            ActionKind::Issue => sets.issued.push(claim.clone()),
            ActionKind::IssueProperty => sets.properties.push(claim.clone()),
            _ => {}
        }
        sets.incoming.push(claim);
    }
    Ok(())
}

/// Calls `fire` for every way the claims satisfy `conditions`.
fn matches<'a>(
    rule: &Rule,
    conditions: &'a [Condition],
    claims: &'a [Claim],
    bindings: &mut Bindings<'a>,
    fire: &mut dyn FnMut(&Bindings<'_>) -> Result<(), PolicyError>,
) -> Result<(), PolicyError> {
    let Some((first, rest)) = conditions.split_first() else {
        return fire(bindings);
    };
    if first.negated {
        for claim in claims {
            if satisfies(rule, claim, &first.props, bindings)? {
                return Ok(());
            }
        }
        return matches(rule, rest, claims, bindings, fire);
    }
    for claim in claims {
        if !satisfies(rule, claim, &first.props, bindings)? {
            continue;
        }
        let previous = first
            .binding
            .as_deref()
            .and_then(|name| bindings.insert(name, claim));
        matches(rule, rest, claims, bindings, fire)?;
        if let Some(name) = first.binding.as_deref() {
            match previous {
                Some(p) => bindings.insert(name, p),
                None => bindings.remove(name),
            };
        }
    }
    Ok(())
}

fn satisfies(
    rule: &Rule,
    claim: &Claim,
    props: &[PropCondition],
    bindings: &Bindings<'_>,
) -> Result<bool, PolicyError> {
    for p in props {
        let operand = value(rule, &p.operand, bindings)?;
        if !compare(&property(claim, p.property), p.op, &operand) {
            return Ok(false);
        }
    }
    Ok(true)
}

fn property(claim: &Claim, p: Property) -> ClaimValue {
    match p {
        Property::Type => ClaimValue::Str(claim.claim_type.clone()),
        Property::Value => claim.value.clone(),
        Property::ValueType => ClaimValue::Str(claim.value.type_name().to_owned()),
        Property::Issuer => ClaimValue::Str(claim.issuer.clone()),
    }
}

/// Integers compare with every operator; strings and booleans with `==` and `!=`; values of
/// different types never match.
fn compare(left: &ClaimValue, op: Op, right: &ClaimValue) -> bool {
    use std::cmp::Ordering;
    let ordering = match (left, right) {
        (ClaimValue::Int(a), ClaimValue::Int(b)) => Some(a.cmp(b)),
        _ => None,
    };
    match (op, ordering) {
        (Op::Eq, _) => left == right,
        (Op::Ne, _) => left.type_name() == right.type_name() && left != right,
        (Op::Lt, Some(o)) => o == Ordering::Less,
        (Op::Le, Some(o)) => o != Ordering::Greater,
        (Op::Gt, Some(o)) => o == Ordering::Greater,
        (Op::Ge, Some(o)) => o != Ordering::Less,
        _ => false,
    }
}

fn value(rule: &Rule, expr: &Expr, bindings: &Bindings<'_>) -> Result<ClaimValue, PolicyError> {
    match expr {
        Expr::Literal(Literal::Str(s)) => Ok(ClaimValue::Str(s.clone())),
        Expr::Literal(Literal::Int(n)) => Ok(ClaimValue::Int(*n)),
        Expr::Literal(Literal::Bool(b)) => Ok(ClaimValue::Bool(*b)),
        Expr::Ref(name, p) => bindings
            .get(name.as_str())
            .map(|c| property(c, *p))
            .ok_or_else(|| {
                PolicyError::eval(rule.line, format!("'{name}' names no claim of this rule"))
            }),
        Expr::Call(name, args) => {
            let args = args
                .iter()
                .map(|a| value(rule, a, bindings))
                .collect::<Result<Vec<_>, _>>()?;
            call(rule, name, &args)
        }
    }
}

fn call(rule: &Rule, name: &str, args: &[ClaimValue]) -> Result<ClaimValue, PolicyError> {
    let bad = |why: &str| PolicyError::eval(rule.line, format!("{name}: {why}"));
    match (name, args) {
        ("AppendString", [ClaimValue::Str(a), ClaimValue::Str(b)]) => {
            Ok(ClaimValue::Str(format!("{a}{b}")))
        }
        ("AppendString", _) => Err(bad("takes two strings")),
        ("NegateBool", [ClaimValue::Bool(b)]) => Ok(ClaimValue::Bool(!b)),
        ("NegateBool", _) => Err(bad("takes one boolean")),
        _ => Err(bad("this function is not available")),
    }
}

fn new_claim(rule: &Rule, bindings: &Bindings<'_>) -> Result<Option<Claim>, PolicyError> {
    match &rule.action.claim {
        None => Ok(None),
        Some(NewClaim::Copy(name)) => bindings
            .get(name.as_str())
            .map(|c| Some((*c).clone()))
            .ok_or_else(|| {
                PolicyError::eval(rule.line, format!("'{name}' names no claim of this rule"))
            }),
        Some(NewClaim::Fields {
            claim_type,
            value: v,
        }) => {
            let ClaimValue::Str(claim_type) = value(rule, claim_type, bindings)? else {
                return Err(PolicyError::eval(rule.line, "a claim's type is a string"));
            };
            Ok(Some(Claim {
                claim_type,
                value: value(rule, v, bindings)?,
                issuer: super::ISSUER_POLICY.to_owned(),
            }))
        }
    }
}
