//! A whole configuration: every profile the server answers for, checked together.
//!
//! Cross-profile rules live here: unique names and DNS names, nested endpoints that name an existing
//! profile, no cycles, at most [`MAX_NESTING_DEPTH`] levels. A [`ProfileSet`] can only be built
//! whole, so a file with one bad profile changes nothing.

use std::collections::HashMap;
use std::path::Path;

use crate::azure::ProfileDoc;
use crate::error::{Errors, ValidationError};
use crate::profile::{EndpointTarget, Profile};
use crate::validate::{self, Limits};

pub use crate::validate::bounds::MAX_NESTING_DEPTH;

/// A validated set of profiles, in document order, with nested references resolved.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProfileSet {
    profiles: Vec<Profile>,
}

/// The `profiles:` file: `{ "profiles": [ <profile in Azure JSON shape>, ... ] }`.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct ProfilesFile {
    /// The profiles.
    #[serde(default)]
    pub profiles: Vec<ProfileDoc>,
}

/// Why a profiles file could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
#[allow(missing_docs)] // variant fields are named in their #[error] messages
pub enum LoadError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    /// The file is not well-formed YAML or JSON of the expected shape.
    #[error("{path}: {message}")]
    Syntax {
        path: String,
        /// What is wrong, with the field path and position when known.
        message: String,
    },
    /// The file is well-formed but breaks validation rules.
    #[error("{path}: {source}")]
    Invalid {
        path: String,
        /// Every broken rule.
        source: ValidationError,
    },
}

impl ProfileSet {
    /// Validates every document and the rules between them; all or nothing.
    pub fn from_docs(docs: &[ProfileDoc], limits: &Limits) -> Result<Self, ValidationError> {
        let mut errs = Errors::default();
        let mut profiles = Vec::with_capacity(docs.len());
        for (i, doc) in docs.iter().enumerate() {
            match validate::profile(doc, limits) {
                Ok(p) => profiles.push(p),
                Err(e) => {
                    for f in e.errors {
                        errs.push(format!("profiles[{i}].{}", f.path), f.rule);
                    }
                }
            }
        }
        if !errs.is_empty() {
            return errs.into_result(Self::default());
        }
        Self::from_profiles(profiles)
    }

    /// Checks the cross-profile rules over already validated profiles.
    pub fn from_profiles(profiles: Vec<Profile>) -> Result<Self, ValidationError> {
        let refs: Vec<&Profile> = profiles.iter().collect();
        Self::check(&refs)?;
        Ok(Self { profiles })
    }

    /// A set of profiles that [`ProfileSet::check`] already passed as a whole (a store that checks
    /// every write against every stored profile keeps such a set): built without checking again.
    /// Anything else must use [`ProfileSet::from_profiles`].
    pub fn from_checked(profiles: Vec<Profile>) -> Self {
        Self { profiles }
    }

    /// The cross-profile rules (unique names and DNS names, nested targets that exist, no cycles,
    /// bounded depth) over borrowed profiles: the store checks a write against every stored
    /// profile without copying them. Errors say `profiles[i]` by position in `profiles`.
    pub fn check(profiles: &[&Profile]) -> Result<(), ValidationError> {
        let mut errs = Errors::default();
        let mut by_name: HashMap<String, usize> = HashMap::new();
        let mut by_dns: HashMap<&str, usize> = HashMap::new();
        for (i, p) in profiles.iter().enumerate() {
            if let Some(first) = validate::first_seen(&mut by_name, p.name.to_ascii_lowercase(), i)
            {
                errs.push(
                    format!("profiles[{i}].name"),
                    format!("must be unique, {:?} is also profiles[{first}]", p.name),
                );
            }
            if let Some(first) = validate::first_seen(&mut by_dns, p.relative_name.as_str(), i) {
                errs.push(
                    format!("profiles[{i}].properties.dnsConfig.relativeName"),
                    format!(
                        "must be unique, {:?} is also profiles[{first}]",
                        p.relative_name
                    ),
                );
            }
        }
        for (i, p) in profiles.iter().enumerate() {
            for (j, ep) in p.endpoints.iter().enumerate() {
                if let EndpointTarget::Profile(child) = &ep.target
                    && !by_name.contains_key(&child.to_ascii_lowercase())
                {
                    errs.push(
                        format!(
                            "profiles[{i}].properties.endpoints[{j}].properties.targetResourceId"
                        ),
                        format!("must name an existing profile, no profile is called {child:?}"),
                    );
                }
            }
        }
        if errs.is_empty() {
            check_nesting(&mut errs, profiles, &by_name);
        }
        errs.into_result(())
    }

    /// Reads a `profiles:` file in YAML or JSON (by extension; `.json` is JSON, anything else YAML,
    /// which also reads JSON) and validates it whole.
    pub fn load(path: &Path, limits: &Limits) -> Result<Self, LoadError> {
        let file = ProfilesFile::read(path)?;
        Self::from_docs(&file.profiles, limits).map_err(|source| LoadError::Invalid {
            path: path.display().to_string(),
            source,
        })
    }

    /// The profiles, in document order.
    pub fn profiles(&self) -> &[Profile] {
        &self.profiles
    }

    /// The profile with this name (case-insensitive).
    pub fn get(&self, name: &str) -> Option<&Profile> {
        self.profiles
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
    }
}

impl ProfilesFile {
    /// Reads a `profiles:` file in YAML or JSON (by extension; `.json` is JSON, anything else
    /// YAML, which also reads JSON), without validating the profiles; errors name the file.
    pub fn read(path: &Path) -> Result<Self, LoadError> {
        let text = std::fs::read_to_string(path).map_err(|source| LoadError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Parses the text of the file at `path` (which decides the format and names the file in
    /// errors).
    pub fn parse(text: &str, path: &Path) -> Result<Self, LoadError> {
        let json = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"));
        parse_profiles_file(text, json).map_err(|message| LoadError::Syntax {
            path: path.display().to_string(),
            message,
        })
    }

    /// The profiles as the store keeps them ([`ProfileDoc::to_stored_form`], and without the
    /// fields Signpost does not know: a declarative source reports them and leaves them out).
    /// One form whatever the source (a file, `signpost apply`, the API's bulk apply), so applying
    /// the same profiles twice compares equal and changes nothing.
    pub fn documents(&self) -> Vec<ProfileDoc> {
        self.profiles
            .iter()
            .map(|doc| {
                let mut doc = doc.clone();
                doc.drop_unknown();
                doc.to_stored_form();
                doc
            })
            .collect()
    }
}

/// Parses the text of a profiles file; the error names the field path and the position.
pub fn parse_profiles_file(text: &str, json: bool) -> Result<ProfilesFile, String> {
    if json {
        let de = &mut serde_json::Deserializer::from_str(text);
        serde_path_to_error::deserialize(de).map_err(|e| format!("{}: {}", e.path(), e.inner()))
    } else {
        let de = serde_norway::Deserializer::from_str(text);
        serde_path_to_error::deserialize(de).map_err(|e| {
            // serde_norway's message already starts with the path (below the root): don't repeat it.
            let (path, inner) = (e.path().to_string(), e.inner().to_string());
            if inner.starts_with(&format!("{path}: ")) {
                inner
            } else {
                format!("{path}: {inner}")
            }
        })
    }
}

/// Rejects cycles and chains deeper than [`MAX_NESTING_DEPTH`], naming the first profile on the path.
fn check_nesting(errs: &mut Errors, profiles: &[&Profile], by_name: &HashMap<String, usize>) {
    // depth[i]: levels of nesting below profile i (0 = no nested endpoints); None = not computed.
    let mut depth: Vec<Option<usize>> = vec![None; profiles.len()];
    for start in 0..profiles.len() {
        let mut path = Vec::new();
        if let Err(msg) = nesting_depth(start, profiles, by_name, &mut depth, &mut path) {
            errs.push(format!("profiles[{start}].properties.endpoints"), msg);
            return;
        }
        if let Some(d) = depth[start]
            && d > MAX_NESTING_DEPTH
        {
            errs.push(
                format!("profiles[{start}].properties.endpoints"),
                format!("must nest at most {MAX_NESTING_DEPTH} levels, got {d}"),
            );
            return;
        }
    }
}

fn nesting_depth(
    i: usize,
    profiles: &[&Profile],
    by_name: &HashMap<String, usize>,
    depth: &mut Vec<Option<usize>>,
    path: &mut Vec<usize>,
) -> Result<usize, String> {
    if let Some(d) = depth[i] {
        return Ok(d);
    }
    if let Some(pos) = path.iter().position(|&p| p == i) {
        let cycle: Vec<&str> = path[pos..]
            .iter()
            .chain(std::iter::once(&i))
            .map(|&p| profiles[p].name.as_str())
            .collect();
        return Err(format!("must not nest in a cycle: {}", cycle.join(" -> ")));
    }
    path.push(i);
    let mut d = 0;
    for ep in &profiles[i].endpoints {
        if let EndpointTarget::Profile(child) = &ep.target {
            let c = by_name[&child.to_ascii_lowercase()];
            d = d.max(1 + nesting_depth(c, profiles, by_name, depth, path)?);
        }
    }
    path.pop();
    depth[i] = Some(d);
    Ok(d)
}
