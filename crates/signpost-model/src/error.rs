//! Validation errors: every error names the field path and the rule it broke.

use std::fmt;

/// One broken rule at one field, e.g. `endpoints[2].properties.weight: must be 1..=1000, got 0`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// Path of the field from the root of the document, in JSON notation.
    pub path: String,
    /// The rule, in words, with the offending value where it helps.
    pub rule: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.rule)
    }
}

/// Every rule a document broke. A document with any error is rejected whole.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ValidationError {
    /// The broken rules, in document order (never empty).
    pub errors: Vec<FieldError>,
}

impl ValidationError {
    /// An error with a single broken rule.
    pub fn single(path: impl Into<String>, rule: impl Into<String>) -> Self {
        Self {
            errors: vec![FieldError {
                path: path.into(),
                rule: rule.into(),
            }],
        }
    }

    /// Whether any error is reported at exactly this path (used by tests and callers that map errors
    /// to fields).
    pub fn has(&self, path: &str) -> bool {
        self.errors.iter().any(|e| e.path == path)
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

/// Collects errors while a document is checked, so one pass reports every broken rule.
#[derive(Debug, Default)]
pub(crate) struct Errors {
    errors: Vec<FieldError>,
}

impl Errors {
    pub(crate) fn push(&mut self, path: impl Into<String>, rule: impl Into<String>) {
        self.errors.push(FieldError {
            path: path.into(),
            rule: rule.into(),
        });
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    pub(crate) fn into_result<T>(self, value: T) -> Result<T, ValidationError> {
        if self.errors.is_empty() {
            Ok(value)
        } else {
            Err(ValidationError {
                errors: self.errors,
            })
        }
    }
}
