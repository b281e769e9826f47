//! The policy's syntax tree and its parser.

use super::PolicyError;
use super::lex::{Spanned, Tok};

/// A literal value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Literal {
    /// A string.
    Str(String),
    /// An integer.
    Int(i64),
    /// A boolean.
    Bool(bool),
}

/// A claim property a condition or reference names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Property {
    /// `type`.
    Type,
    /// `value`.
    Value,
    /// `valueType`.
    ValueType,
    /// `issuer`.
    Issuer,
}

/// A comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `==`.
    Eq,
    /// `!=`.
    Ne,
    /// `<`.
    Lt,
    /// `<=`.
    Le,
    /// `>`.
    Gt,
    /// `>=`.
    Ge,
}

/// A value expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    /// A literal.
    Literal(Literal),
    /// A property of a claim bound by an earlier condition: `c.value`.
    Ref(String, Property),
    /// A function call (version 1.2).
    Call(String, Vec<Expr>),
}

/// One property condition: `value >= 2`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropCondition {
    /// The property tested.
    pub property: Property,
    /// How.
    pub op: Op,
    /// Against what.
    pub operand: Expr,
}

/// A claim condition: `[!] [c:] [ ... ]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    /// `!`: true when no claim matches (version 1.2).
    pub negated: bool,
    /// The name the matching claim is bound to.
    pub binding: Option<String>,
    /// Every one must hold for one claim.
    pub props: Vec<PropCondition>,
}

/// What a rule does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionKind {
    /// `permit()`.
    Permit,
    /// `deny()`.
    Deny,
    /// `add(...)`.
    Add,
    /// `issue(...)`.
    Issue,
    /// `issueproperty(...)`.
    IssueProperty,
}

/// The claim an `add`, `issue` or `issueproperty` makes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NewClaim {
    /// `type=..., value=...` (and optionally `valueType=...`).
    Fields {
        /// Its type.
        claim_type: Expr,
        /// Its value.
        value: Expr,
    },
    /// `claim=c`: a copy of a bound claim.
    Copy(String),
}

/// A rule's action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Action {
    /// Which.
    pub kind: ActionKind,
    /// The claim made, for the claim actions.
    pub claim: Option<NewClaim>,
}

/// A rule: conditions joined by `&&`, then its action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// The conditions.
    pub conditions: Vec<Condition>,
    /// The action.
    pub action: Action,
    /// Where the rule starts.
    pub line: usize,
}

/// A parsed policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// `1.0`, `1.1` or `1.2`.
    pub version: String,
    /// `configurationrules` (1.1 and later).
    pub configuration: Vec<Rule>,
    /// `authorizationrules`.
    pub authorization: Vec<Rule>,
    /// `issuancerules`.
    pub issuance: Vec<Rule>,
}

struct Parser {
    toks: Vec<Spanned>,
    at: usize,
    /// Where the text ended, for errors at its end.
    end: (usize, usize),
}

/// Parses a policy's text.
pub fn parse(text: &str) -> Result<Policy, PolicyError> {
    let toks = super::lex::tokens(text)?;
    let end = text
        .lines()
        .enumerate()
        .last()
        .map_or((1, 1), |(i, l)| (i + 1, l.chars().count() + 1));
    Parser { toks, at: 0, end }.policy()
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.at).map(|s| &s.tok)
    }

    fn here(&self) -> (usize, usize) {
        self.toks.get(self.at).map_or(self.end, |s| (s.line, s.col))
    }

    fn fail<T>(&self, message: impl Into<String>) -> Result<T, PolicyError> {
        let (line, col) = self.here();
        let found = match self.peek() {
            None => "the end of the policy".to_owned(),
            Some(Tok::Ident(s)) => format!("'{s}'"),
            Some(Tok::Str(s)) => format!("the string \"{s}\""),
            Some(Tok::Int(n)) => format!("{n}"),
            Some(Tok::Number(n)) => n.clone(),
            Some(Tok::Sym(s)) => format!("'{s}'"),
        };
        Err(PolicyError::at(
            line,
            col,
            format!("{}, found {found}", message.into()),
        ))
    }

    fn next(&mut self) -> Option<Tok> {
        let tok = self.toks.get(self.at).map(|s| s.tok.clone());
        self.at += 1;
        tok
    }

    fn is_sym(&self, sym: &str) -> bool {
        matches!(self.peek(), Some(Tok::Sym(s)) if *s == sym)
    }

    fn expect_sym(&mut self, sym: &str) -> Result<(), PolicyError> {
        if self.is_sym(sym) {
            self.at += 1;
            Ok(())
        } else {
            self.fail(format!("expected '{sym}'"))
        }
    }

    fn is_word(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Tok::Ident(s)) if s.eq_ignore_ascii_case(word))
    }

    fn ident(&mut self, what: &str) -> Result<String, PolicyError> {
        match self.peek() {
            Some(Tok::Ident(s)) => {
                let s = s.clone();
                self.at += 1;
                Ok(s)
            }
            _ => self.fail(format!("expected {what}")),
        }
    }

    fn policy(&mut self) -> Result<Policy, PolicyError> {
        if !self.is_word("version") {
            return self.fail("a policy begins with 'version=1.0;' (or 1.1, 1.2)");
        }
        self.at += 1;
        self.expect_sym("=")?;
        let version = match self.peek() {
            Some(Tok::Number(v)) if ["1.0", "1.1", "1.2"].contains(&v.as_str()) => v.clone(),
            _ => return self.fail("expected the version 1.0, 1.1 or 1.2"),
        };
        self.at += 1;
        self.expect_sym(";")?;
        let mut policy = Policy {
            version,
            configuration: Vec::new(),
            authorization: Vec::new(),
            issuance: Vec::new(),
        };
        let mut seen: Vec<String> = Vec::new();
        while self.peek().is_some() {
            let (line, col) = self.here();
            let section =
                self.ident("a section: configurationrules, authorizationrules or issuancerules")?;
            let lower = section.to_ascii_lowercase();
            if seen.contains(&lower) {
                return Err(PolicyError::at(
                    line,
                    col,
                    format!("{section} appears twice"),
                ));
            }
            if !["configurationrules", "authorizationrules", "issuancerules"]
                .contains(&lower.as_str())
            {
                return Err(PolicyError::at(
                    line,
                    col,
                    format!("unknown section '{section}'"),
                ));
            }
            self.expect_sym("{")?;
            let rules = self.rules()?;
            self.expect_sym("}")?;
            self.expect_sym(";")?;
            match lower.as_str() {
                "configurationrules" if policy.version != "1.0" => policy.configuration = rules,
                "configurationrules" => {
                    return Err(PolicyError::at(
                        line,
                        col,
                        "configurationrules need version 1.1 or later",
                    ));
                }
                "authorizationrules" => policy.authorization = rules,
                _ => policy.issuance = rules,
            }
            seen.push(lower);
        }
        if !seen.iter().any(|s| s == "authorizationrules") {
            return self.fail("expected an authorizationrules section");
        }
        Ok(policy)
    }

    fn rules(&mut self) -> Result<Vec<Rule>, PolicyError> {
        let mut rules = Vec::new();
        while !self.is_sym("}") {
            if self.peek().is_none() {
                return self.fail("expected '}' to close the section");
            }
            let (line, _) = self.here();
            let mut conditions = Vec::new();
            if !self.is_sym("=>") {
                conditions.push(self.condition()?);
                while self.is_sym("&&") {
                    self.at += 1;
                    conditions.push(self.condition()?);
                }
            }
            self.expect_sym("=>")?;
            let action = self.action()?;
            self.expect_sym(";")?;
            rules.push(Rule {
                conditions,
                action,
                line,
            });
        }
        Ok(rules)
    }

    fn condition(&mut self) -> Result<Condition, PolicyError> {
        let negated = self.is_sym("!");
        if negated {
            self.at += 1;
        }
        let binding = match (self.peek(), self.toks.get(self.at + 1).map(|s| &s.tok)) {
            (Some(Tok::Ident(name)), Some(Tok::Sym(":"))) => {
                let name = name.clone();
                self.at += 2;
                Some(name)
            }
            _ => None,
        };
        self.expect_sym("[")?;
        let mut props = vec![self.prop_condition()?];
        while self.is_sym(",") {
            self.at += 1;
            props.push(self.prop_condition()?);
        }
        self.expect_sym("]")?;
        Ok(Condition {
            negated,
            binding,
            props,
        })
    }

    fn property(&mut self) -> Result<Property, PolicyError> {
        let name = self.ident("a claim property: type, value, valueType or issuer")?;
        match name.as_str() {
            "type" => Ok(Property::Type),
            "value" => Ok(Property::Value),
            "valueType" | "valuetype" => Ok(Property::ValueType),
            "issuer" => Ok(Property::Issuer),
            _ => {
                self.at -= 1;
                self.fail("expected a claim property: type, value, valueType or issuer")
            }
        }
    }

    fn prop_condition(&mut self) -> Result<PropCondition, PolicyError> {
        let property = self.property()?;
        let op = match self.peek() {
            Some(Tok::Sym("==")) => Op::Eq,
            Some(Tok::Sym("!=")) => Op::Ne,
            Some(Tok::Sym("<")) => Op::Lt,
            Some(Tok::Sym("<=")) => Op::Le,
            Some(Tok::Sym(">")) => Op::Gt,
            Some(Tok::Sym(">=")) => Op::Ge,
            Some(Tok::Sym("=")) => {
                return self.fail("a condition compares with '==', not '='");
            }
            _ => return self.fail("expected a comparison: == != < <= > >="),
        };
        self.at += 1;
        let operand = self.expr()?;
        Ok(PropCondition {
            property,
            op,
            operand,
        })
    }

    fn expr(&mut self) -> Result<Expr, PolicyError> {
        match self.next() {
            Some(Tok::Str(s)) => Ok(Expr::Literal(Literal::Str(s))),
            Some(Tok::Int(n)) => Ok(Expr::Literal(Literal::Int(n))),
            Some(Tok::Ident(word)) if word == "true" || word == "false" => {
                Ok(Expr::Literal(Literal::Bool(word == "true")))
            }
            Some(Tok::Ident(name)) if self.is_sym(".") => {
                self.at += 1;
                Ok(Expr::Ref(name, self.property()?))
            }
            Some(Tok::Ident(name)) if self.is_sym("(") => {
                self.at += 1;
                let mut args = Vec::new();
                if !self.is_sym(")") {
                    args.push(self.expr()?);
                    while self.is_sym(",") {
                        self.at += 1;
                        args.push(self.expr()?);
                    }
                }
                self.expect_sym(")")?;
                Ok(Expr::Call(name, args))
            }
            _ => {
                self.at -= 1;
                self.fail(
                    "expected a value: a string, an integer, true, false, c.value or a function",
                )
            }
        }
    }

    fn action(&mut self) -> Result<Action, PolicyError> {
        let name = self.ident("an action: permit, deny, add, issue or issueproperty")?;
        let kind = match name.to_ascii_lowercase().as_str() {
            "permit" => ActionKind::Permit,
            "deny" => ActionKind::Deny,
            "add" => ActionKind::Add,
            "issue" => ActionKind::Issue,
            "issueproperty" => ActionKind::IssueProperty,
            _ => {
                self.at -= 1;
                return self.fail("expected an action: permit, deny, add, issue or issueproperty");
            }
        };
        self.expect_sym("(")?;
        let claim = match kind {
            ActionKind::Permit | ActionKind::Deny => None,
            _ => Some(self.new_claim()?),
        };
        self.expect_sym(")")?;
        Ok(Action { kind, claim })
    }

    fn new_claim(&mut self) -> Result<NewClaim, PolicyError> {
        if self.is_word("claim") {
            self.at += 1;
            self.expect_sym("=")?;
            return Ok(NewClaim::Copy(self.ident("the name of a bound claim")?));
        }
        let (mut claim_type, mut value) = (None, None);
        loop {
            let (line, col) = self.here();
            let name = self.ident("type=, value= or claim=")?;
            self.expect_sym("=")?;
            let expr = self.expr()?;
            match name.as_str() {
                "type" => claim_type = Some(expr),
                "value" => value = Some(expr),
                // The type of the value follows from the value itself.
                "valueType" | "valuetype" => {}
                _ => {
                    return Err(PolicyError::at(
                        line,
                        col,
                        format!("unknown argument '{name}'"),
                    ));
                }
            }
            if !self.is_sym(",") {
                break;
            }
            self.at += 1;
        }
        match (claim_type, value) {
            (Some(claim_type), Some(value)) => Ok(NewClaim::Fields { claim_type, value }),
            _ => self.fail("a new claim needs both type= and value="),
        }
    }
}
