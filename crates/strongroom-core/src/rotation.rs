//! Rotation policies: ISO-8601 durations, lifetime actions, validation and the due time of the
//! next automatic rotation.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::DomainError;
use crate::clock::UnixTime;

const DAY: i64 = 86_400;

/// An ISO-8601 duration such as `P90D`, `P1Y6M` or `PT12H`, kept with its original text.
/// Years count 365 days and months 30 days, as Key Vault computes them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IsoDuration {
    text: String,
    seconds: i64,
}

impl IsoDuration {
    /// Length in seconds.
    pub fn seconds(&self) -> i64 {
        self.seconds
    }

    /// The text as given.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for IsoDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl FromStr for IsoDuration {
    type Err = DomainError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || {
            DomainError::bad(format!(
                "'{}' is not a valid ISO 8601 duration (for example P90D, P1Y or PT12H).",
                s.chars().take(32).collect::<String>()
            ))
        };
        let upper = s.trim().to_ascii_uppercase();
        let body = upper.strip_prefix('P').ok_or_else(bad)?;
        let (date, time) = match body.split_once('T') {
            Some((d, t)) if !t.is_empty() => (d, Some(t)),
            Some(_) => return Err(bad()),
            None => (body, None),
        };
        let mut seconds = sum_units(
            date,
            &[
                ('Y', 365 * DAY),
                ('M', 30 * DAY),
                ('W', 7 * DAY),
                ('D', DAY),
            ],
        )
        .ok_or_else(bad)?;
        if let Some(time) = time {
            seconds = seconds
                .checked_add(sum_units(time, &[('H', 3_600), ('M', 60), ('S', 1)]).ok_or_else(bad)?)
                .ok_or_else(bad)?;
        }
        if date.is_empty() && time.is_none() {
            return Err(bad());
        }
        Ok(Self {
            text: s.trim().to_owned(),
            seconds,
        })
    }
}

/// Adds up `<number><unit>` groups, units in the given order, each at most once.
fn sum_units(text: &str, units: &[(char, i64)]) -> Option<i64> {
    let mut total: i64 = 0;
    let mut number = String::new();
    let mut next_unit = 0;
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let offset = units.get(next_unit..)?.iter().position(|(u, _)| *u == c)?;
        let (_, scale) = units.get(next_unit + offset)?;
        let value: i64 = number.parse().ok()?;
        total = total.checked_add(value.checked_mul(*scale)?)?;
        number.clear();
        next_unit += offset + 1;
    }
    number.is_empty().then_some(total)
}

/// What a lifetime action does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ActionType {
    /// Create a new key version.
    Rotate,
    /// Emit a near-expiry notification.
    Notify,
}

impl FromStr for ActionType {
    type Err = DomainError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "rotate" => Ok(Self::Rotate),
            "notify" => Ok(Self::Notify),
            _ => Err(DomainError::bad(format!(
                "The lifetime action type '{}' is not valid: use Rotate or Notify.",
                s.chars().take(32).collect::<String>()
            ))),
        }
    }
}

impl ActionType {
    /// Wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rotate => "Rotate",
            Self::Notify => "Notify",
        }
    }
}

/// When a lifetime action fires.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Trigger {
    /// This long after the latest version was created.
    AfterCreate(IsoDuration),
    /// This long before the latest version expires.
    BeforeExpiry(IsoDuration),
}

/// One lifetime action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LifetimeAction {
    /// When.
    pub trigger: Trigger,
    /// What.
    pub action: ActionType,
}

/// A key's rotation policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RotationPolicy {
    /// At most one Rotate and one Notify action.
    pub lifetime_actions: Vec<LifetimeAction>,
    /// Expiry given to each new version, relative to its creation.
    pub expiry_time: Option<IsoDuration>,
    /// When the policy was first set (absent for the default policy).
    pub created: Option<UnixTime>,
    /// When the policy was last changed.
    pub updated: Option<UnixTime>,
}

impl RotationPolicy {
    /// The policy a key has before anyone sets one: notify 30 days before expiry on vaults,
    /// nothing on managed HSM pools (which do not notify).
    pub fn default_for(notify: bool) -> Self {
        let lifetime_actions = if notify {
            vec![LifetimeAction {
                trigger: Trigger::BeforeExpiry(IsoDuration {
                    text: "P30D".into(),
                    seconds: 30 * DAY,
                }),
                action: ActionType::Notify,
            }]
        } else {
            Vec::new()
        };
        Self {
            lifetime_actions,
            expiry_time: None,
            created: None,
            updated: None,
        }
    }

    /// Checks Key Vault's rules: at most one action of each type, expiry at least 28 days,
    /// rotation at least 7 days after creation and before expiry, and triggers within expiry.
    pub fn validate(&self, allow_notify: bool) -> Result<(), DomainError> {
        let rotates = self.count(ActionType::Rotate);
        let notifies = self.count(ActionType::Notify);
        if rotates > 1 || notifies > 1 {
            return Err(DomainError::bad(
                "lifetimeActions can only have two items at maximum: one for rotate, one for notify.",
            ));
        }
        if notifies > 0 && !allow_notify {
            return Err(DomainError::bad(
                "Notify lifetime actions are not supported by Managed HSM.",
            ));
        }
        if let Some(expiry) = &self.expiry_time
            && expiry.seconds() < 28 * DAY
        {
            return Err(DomainError::bad(
                "The expiryTime of a rotation policy must be at least 28 days (P28D).",
            ));
        }
        self.lifetime_actions
            .iter()
            .try_for_each(|a| self.validate_action(a))
    }

    fn validate_action(&self, action: &LifetimeAction) -> Result<(), DomainError> {
        let (Trigger::AfterCreate(d) | Trigger::BeforeExpiry(d)) = &action.trigger;
        if action.action == ActionType::Rotate && d.seconds() < 7 * DAY {
            return Err(DomainError::bad(
                "A rotation trigger must be at least 7 days (P7D).",
            ));
        }
        if let (Trigger::BeforeExpiry(_), None) = (&action.trigger, &self.expiry_time)
            && action.action == ActionType::Rotate
        {
            return Err(DomainError::bad(
                "A timeBeforeExpiry rotation trigger requires the policy's expiryTime.",
            ));
        }
        match (&self.expiry_time, &action.trigger) {
            (Some(expiry), Trigger::AfterCreate(d) | Trigger::BeforeExpiry(d))
                if action.action == ActionType::Rotate && d.seconds() >= expiry.seconds() =>
            {
                Err(DomainError::bad(
                    "A rotation trigger must fall before the policy's expiryTime.",
                ))
            }
            _ => Ok(()),
        }
    }

    fn count(&self, kind: ActionType) -> usize {
        self.lifetime_actions
            .iter()
            .filter(|a| a.action == kind)
            .count()
    }

    /// When the latest version (created at `created`, expiring at `exp`) is due for automatic
    /// rotation, if the policy rotates at all.
    pub fn rotation_due_at(&self, created: UnixTime, exp: Option<UnixTime>) -> Option<UnixTime> {
        let action = self
            .lifetime_actions
            .iter()
            .find(|a| a.action == ActionType::Rotate)?;
        match &action.trigger {
            Trigger::AfterCreate(d) => created.checked_add(d.seconds()),
            Trigger::BeforeExpiry(d) => exp?.checked_sub(d.seconds()),
        }
    }

    /// When a notification for the latest version is due, if the policy notifies.
    pub fn notify_due_at(&self, created: UnixTime, exp: Option<UnixTime>) -> Option<UnixTime> {
        let action = self
            .lifetime_actions
            .iter()
            .find(|a| a.action == ActionType::Notify)?;
        match &action.trigger {
            Trigger::AfterCreate(d) => created.checked_add(d.seconds()),
            Trigger::BeforeExpiry(d) => exp?.checked_sub(d.seconds()),
        }
    }

    /// The expiry to give a version created at `created`.
    pub fn expiry_for(&self, created: UnixTime) -> Option<UnixTime> {
        self.expiry_time
            .as_ref()
            .and_then(|e| created.checked_add(e.seconds()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> IsoDuration {
        s.parse().unwrap()
    }

    #[test]
    fn durations() {
        assert_eq!(d("P90D").seconds(), 90 * DAY);
        assert_eq!(d("P1Y2M").seconds(), 425 * DAY);
        assert_eq!(d("PT1H30M").seconds(), 5_400);
        assert_eq!(d("P1W").seconds(), 7 * DAY);
        assert_eq!(d("p2y").as_str(), "p2y");
        for bad in ["", "P", "PT", "90D", "P1D2Y", "P1.5D", "PXD", "P1DT"] {
            assert!(bad.parse::<IsoDuration>().is_err(), "{bad}");
        }
    }

    fn policy(actions: Vec<(Trigger, ActionType)>, expiry: Option<&str>) -> RotationPolicy {
        RotationPolicy {
            lifetime_actions: actions
                .into_iter()
                .map(|(trigger, action)| LifetimeAction { trigger, action })
                .collect(),
            expiry_time: expiry.map(d),
            created: None,
            updated: None,
        }
    }

    #[test]
    fn validation() {
        let ok = policy(
            vec![
                (Trigger::AfterCreate(d("P30D")), ActionType::Rotate),
                (Trigger::BeforeExpiry(d("P30D")), ActionType::Notify),
            ],
            Some("P90D"),
        );
        assert!(ok.validate(true).is_ok());
        assert!(ok.validate(false).is_err());
        let two_rotates = policy(
            vec![
                (Trigger::AfterCreate(d("P30D")), ActionType::Rotate),
                (Trigger::AfterCreate(d("P40D")), ActionType::Rotate),
            ],
            None,
        );
        assert!(two_rotates.validate(true).is_err());
        assert!(policy(vec![], Some("P27D")).validate(true).is_err());
        let too_soon = policy(
            vec![(Trigger::AfterCreate(d("P6D")), ActionType::Rotate)],
            None,
        );
        assert!(too_soon.validate(true).is_err());
        let past_expiry = policy(
            vec![(Trigger::AfterCreate(d("P90D")), ActionType::Rotate)],
            Some("P60D"),
        );
        assert!(past_expiry.validate(true).is_err());
    }

    #[test]
    fn due_times() {
        let after = policy(
            vec![(Trigger::AfterCreate(d("P30D")), ActionType::Rotate)],
            Some("P90D"),
        );
        assert_eq!(after.rotation_due_at(100, None), Some(100 + 30 * DAY));
        assert_eq!(after.expiry_for(100), Some(100 + 90 * DAY));
        let before = policy(
            vec![(Trigger::BeforeExpiry(d("P10D")), ActionType::Rotate)],
            Some("P90D"),
        );
        assert_eq!(before.rotation_due_at(0, None), None);
        assert_eq!(before.rotation_due_at(0, Some(90 * DAY)), Some(80 * DAY));
        assert_eq!(
            RotationPolicy::default_for(false).rotation_due_at(0, Some(1)),
            None
        );
    }
}
