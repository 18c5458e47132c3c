//! Operator overrides (gdnsd's admin state, Cloudflare's manual override): an endpoint forced
//! Online or Degraded by hand, with a reason and an optional expiry, whatever its probes say.
//!
//! An override is not part of the profile document (a declarative `apply` of a file would wipe
//! it): the store keeps it as its own record beside the profiles. This module owns the record
//! ([`Override`]), how a request becomes one ([`Override::from_request`], with field errors), the
//! duration syntax shared by the API's `for` and the CLI's `--for` ([`parse_duration`]), and the
//! UTC times it carries ([`UtcTime`], RFC 3339 on the wire).

use std::fmt;
use std::str::FromStr;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use crate::ValidationError;
use crate::error::FieldError;
use crate::validate::bounds;

/// What an override forces an endpoint to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum OverrideState {
    /// Healthy: served whatever the probes say (unless `endpointStatus` is Disabled).
    Online,
    /// Unhealthy: not served (but for fail-open, as any Degraded endpoint), whatever the probes
    /// say.
    Degraded,
}

impl OverrideState {
    /// The spelling in JSON and in `Display` (`Online`, `Degraded`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Online => "Online",
            Self::Degraded => "Degraded",
        }
    }
}

impl fmt::Display for OverrideState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A moment in UTC, whole seconds since the Unix epoch; RFC 3339 (`2026-12-02T01:10:07Z`) in JSON
/// and in `Display`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UtcTime(pub i64);

impl UtcTime {
    /// Now (the system clock, to the second).
    pub fn now() -> Self {
        Self::from_system(SystemTime::now())
    }

    /// A system time, to the second (before the epoch: the epoch).
    pub fn from_system(t: SystemTime) -> Self {
        Self(
            t.duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64),
        )
    }

    /// As a system time.
    pub fn to_system(self) -> SystemTime {
        UNIX_EPOCH + std::time::Duration::from_secs(self.0.max(0) as u64)
    }

    /// This time plus `secs` seconds.
    pub fn plus(self, secs: u64) -> Self {
        Self(self.0.saturating_add(secs.min(i64::MAX as u64) as i64))
    }
}

impl fmt::Display for UtcTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match jiff::Timestamp::from_second(self.0) {
            Ok(t) => write!(f, "{t}"),
            Err(_) => write!(f, "@{}", self.0),
        }
    }
}

impl FromStr for UtcTime {
    type Err = String;

    /// An RFC 3339 time with an offset (`Z`, `+02:00`); fractions of a second are dropped.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.parse::<jiff::Timestamp>()
            .map(|t| Self(t.as_second()))
            .map_err(|_| {
                format!("must be an RFC 3339 time such as 2026-01-31T12:00:00Z, got {s:?}")
            })
    }
}

impl Serialize for UtcTime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for UtcTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// An operator override of one endpoint, as stored (and as the API shows it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Override {
    /// What the endpoint is forced to.
    pub state: OverrideState,
    /// Why (required, never empty).
    pub reason: String,
    /// When it stops having effect by itself; absent: until cleared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<UtcTime>,
    /// When it was set.
    pub created_at: UtcTime,
    /// Who set it, as they said (the CLI sends the local user name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
}

impl Override {
    /// Whether it still has effect at `now` (an override expiring at `t` has none from `t` on).
    pub fn active_at(&self, now: UtcTime) -> bool {
        self.expires_at.is_none_or(|t| now < t)
    }

    /// The record a request body asks for, set at `now`: `{"state", "reason", "for"?,
    /// "expiresAt"?, "createdBy"?}`, `for` a duration ([`parse_duration`]) and `expiresAt` an
    /// RFC 3339 time in the future (at most one of the two). Every broken rule is a field error.
    pub fn from_request(body: &Value, now: UtcTime) -> Result<Self, ValidationError> {
        let mut errors = Vec::new();
        let mut fail = |path: &str, rule: String| {
            errors.push(FieldError {
                path: path.to_string(),
                rule,
            })
        };
        let Some(obj) = body.as_object() else {
            return Err(ValidationError::single(
                "",
                "the body must be a JSON object",
            ));
        };
        let text = |key: &str| obj.get(key).filter(|v| !v.is_null());
        let state = match text("state") {
            None => {
                fail("state", "is required: Online or Degraded".into());
                None
            }
            Some(Value::String(s)) if s.eq_ignore_ascii_case("online") => {
                Some(OverrideState::Online)
            }
            Some(Value::String(s)) if s.eq_ignore_ascii_case("degraded") => {
                Some(OverrideState::Degraded)
            }
            Some(other) => {
                fail("state", format!("must be Online or Degraded, got {other}"));
                None
            }
        };
        let reason = match text("reason") {
            None => {
                fail("reason", "is required".into());
                String::new()
            }
            Some(Value::String(s)) => {
                let s = s.trim();
                if s.is_empty() {
                    fail("reason", "must not be empty".into());
                } else if s.len() > bounds::MAX_OVERRIDE_REASON_BYTES {
                    fail(
                        "reason",
                        format!(
                            "must be at most {} bytes, got {}",
                            bounds::MAX_OVERRIDE_REASON_BYTES,
                            s.len()
                        ),
                    );
                }
                s.to_string()
            }
            Some(other) => {
                fail("reason", format!("must be a string, got {other}"));
                String::new()
            }
        };
        let mut expires_at = None;
        match (text("for"), text("expiresAt")) {
            (Some(_), Some(_)) => fail("for", "cannot be given with expiresAt".into()),
            (Some(Value::String(d)), None) => match parse_duration(d) {
                Ok(secs) => expires_at = Some(now.plus(secs)),
                Err(rule) => fail("for", rule),
            },
            (Some(other), None) => fail(
                "for",
                format!("must be a duration such as \"30s\", got {other}"),
            ),
            (None, Some(Value::String(t))) => match t.parse::<UtcTime>() {
                Ok(t) if t <= now => fail(
                    "expiresAt",
                    format!("must be in the future, got {t} (now {now})"),
                ),
                Ok(t) => expires_at = Some(t),
                Err(rule) => fail("expiresAt", rule),
            },
            (None, Some(other)) => fail(
                "expiresAt",
                format!("must be an RFC 3339 time, got {other}"),
            ),
            (None, None) => {}
        }
        let created_by = match text("createdBy") {
            None => None,
            Some(Value::String(s)) if s.len() <= bounds::MAX_OVERRIDE_CREATED_BY_BYTES => {
                Some(s.trim().to_string()).filter(|s| !s.is_empty())
            }
            Some(Value::String(s)) => {
                fail(
                    "createdBy",
                    format!(
                        "must be at most {} bytes, got {}",
                        bounds::MAX_OVERRIDE_CREATED_BY_BYTES,
                        s.len()
                    ),
                );
                None
            }
            Some(other) => {
                fail("createdBy", format!("must be a string, got {other}"));
                None
            }
        };
        for key in obj.keys() {
            if !["state", "reason", "for", "expiresAt", "createdBy"].contains(&key.as_str()) {
                fail(
                    key,
                    "is not a field of an override (state, reason, for, expiresAt, createdBy)"
                        .into(),
                );
            }
        }
        match state {
            Some(state) if errors.is_empty() => Ok(Self {
                state,
                reason,
                expires_at,
                created_at: now,
                created_by,
            }),
            _ => Err(ValidationError { errors }),
        }
    }
}

/// Seconds in a duration written as a whole number and one unit: `30s`, `10m`, `2h`, `1d`
/// (more than 0, at most [`bounds::MAX_OVERRIDE_DAYS`] days). Anything else is an error saying
/// what is accepted.
pub fn parse_duration(text: &str) -> Result<u64, String> {
    let bad = || format!("must be a duration such as 30s, 10m, 2h or 1d, got {text:?}");
    let t = text.trim();
    let unit = t.chars().last().ok_or_else(bad)?;
    let per = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        _ => return Err(bad()),
    };
    let digits = &t[..t.len() - 1];
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let n: u64 = digits.parse().map_err(|_| bad())?;
    let secs = n.checked_mul(per).ok_or_else(bad)?;
    let max = bounds::MAX_OVERRIDE_DAYS * 86_400;
    if secs == 0 {
        return Err(format!("must be more than 0, got {text:?}"));
    }
    if secs > max {
        return Err(format!(
            "must be at most {}d, got {text:?}",
            bounds::MAX_OVERRIDE_DAYS
        ));
    }
    Ok(secs)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn durations_take_one_unit() {
        assert_eq!(parse_duration("30s"), Ok(30));
        assert_eq!(parse_duration("10m"), Ok(600));
        assert_eq!(parse_duration("2h"), Ok(7200));
        assert_eq!(parse_duration("1d"), Ok(86_400));
        for bad in [
            "", "s", "10", "1.5h", "-1s", "1w", "1h30m", "10 m", "0s", "366d",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn times_are_rfc_3339_in_utc() {
        let t: UtcTime = "2026-12-02T01:10:07Z".parse().unwrap();
        assert_eq!(t.to_string(), "2026-12-02T01:10:07Z");
        let shifted: UtcTime = "2026-12-02T03:10:07+02:00".parse().unwrap();
        assert_eq!(shifted, t);
        assert!("yesterday".parse::<UtcTime>().is_err());
    }

    #[test]
    fn a_request_becomes_a_record_or_field_errors() {
        let now: UtcTime = "2026-12-02T01:00:00Z".parse().unwrap();
        let o = Override::from_request(
            &json!({"state": "Degraded", "reason": " maintenance ", "for": "10m"}),
            now,
        )
        .unwrap();
        assert_eq!(o.state, OverrideState::Degraded);
        assert_eq!(o.reason, "maintenance");
        assert_eq!(o.expires_at.unwrap().to_string(), "2026-12-02T01:10:00Z");
        assert!(o.active_at(now) && !o.active_at(now.plus(600)));
        let json = serde_json::to_value(&o).unwrap();
        assert_eq!(
            json,
            json!({"state": "Degraded", "reason": "maintenance",
                   "expiresAt": "2026-12-02T01:10:00Z", "createdAt": "2026-12-02T01:00:00Z"})
        );
        assert_eq!(serde_json::from_value::<Override>(json).unwrap(), o);

        let paths = |body: Value| -> Vec<String> {
            Override::from_request(&body, now)
                .unwrap_err()
                .errors
                .into_iter()
                .map(|e| e.path)
                .collect()
        };
        assert_eq!(paths(json!({"state": "Up", "reason": "x"})), ["state"]);
        assert_eq!(
            paths(json!({"state": "Online", "reason": "  "})),
            ["reason"]
        );
        assert_eq!(paths(json!({"state": "Online"})), ["reason"]);
        let long = "x".repeat(bounds::MAX_OVERRIDE_REASON_BYTES + 1);
        assert_eq!(
            paths(json!({"state": "Online", "reason": long})),
            ["reason"]
        );
        assert_eq!(
            paths(json!({"state": "Online", "reason": "x", "for": "soon"})),
            ["for"]
        );
        assert_eq!(
            paths(json!({"state": "Online", "reason": "x", "expiresAt": "2026-12-01T00:00:00Z"})),
            ["expiresAt"]
        );
        assert_eq!(
            paths(
                json!({"state": "Online", "reason": "x", "for": "1m", "expiresAt": "2027-01-01T00:00:00Z"})
            ),
            ["for"]
        );
        assert_eq!(
            paths(json!({"state": "Online", "reason": "x", "until": "1m"})),
            ["until"]
        );
    }
}
