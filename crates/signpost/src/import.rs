//! `signpost import azure FILE`: profiles exported from Azure, created on the server.
//!
//! Accepts the output of `az network traffic-manager profile show` (one profile) and `... list`
//! (an array), a REST list response (`{"value": [...]}`), and ARM templates (`{"resources": [...]}`
//! with resources of type `Microsoft.Network/trafficManagerProfiles`, endpoints inline or as child
//! resources, names as literals or `[parameters('x')]` with a default value). What cannot be carried
//! over is said, per profile and field, and left out; the rest is created through the API.

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use signpost_model::EndpointKind;
use signpost_model::azure::{PROFILE_TYPE, ProfileDoc};

use signpost_api::openapi::ApplyReport;

use crate::cli::{ImportArgs, Output};
use crate::client::Client;
use crate::commands::ok;

/// A profile ready to create, and what was left out of it.
#[derive(Debug)]
pub struct Imported {
    /// Profile name.
    pub name: String,
    /// The document to PUT.
    pub doc: Value,
    /// What could not be carried over.
    pub warnings: Vec<String>,
}

/// An Azure export, read.
#[derive(Debug)]
pub struct Export {
    /// The profiles to create.
    pub profiles: Vec<Imported>,
    /// What was left out that belongs to no profile (template resources Signpost cannot read).
    pub warnings: Vec<String>,
}

/// Reads an Azure export into profile documents (no server involved).
pub fn read(text: &str) -> Result<Export> {
    let root: Value = serde_json::from_str(text).context("the file is not JSON")?;
    let mut warnings_global = Vec::new();
    let raw: Vec<Value> = match &root {
        Value::Array(a) => a.clone(),
        Value::Object(o) if o.contains_key("resources") => {
            arm_profiles(&root, &mut warnings_global)?
        }
        Value::Object(o) if o.get("value").is_some_and(Value::is_array) => {
            o["value"].as_array().cloned().unwrap_or_default()
        }
        Value::Object(o) if o.contains_key("properties") => vec![root.clone()],
        _ => bail!(
            "not an Azure Traffic Manager export: expected a profile, a list of profiles, or an ARM template"
        ),
    };
    // (relative DNS name, profile name) of every profile in the export, for nested endpoints
    // that only carry their child's FQDN.
    let children: Vec<(String, String)> = raw
        .iter()
        .filter_map(|p| {
            let name = p["name"].as_str()?;
            let relative = p["properties"]["dnsConfig"]["relativeName"]
                .as_str()
                .unwrap_or(name);
            Some((relative.to_ascii_lowercase(), name.to_string()))
        })
        .collect();
    let mut out = Vec::new();
    for mut p in raw {
        let name = p["name"].as_str().unwrap_or_default().to_string();
        let mut warnings = Vec::new();
        if let Some(tags) = p
            .get("tags")
            .filter(|t| t.as_object().is_some_and(|o| !o.is_empty()))
        {
            warnings.push(format!(
                "tags {tags} are not carried over (Signpost has no tags)"
            ));
        }
        if let Some(o) = p.as_object_mut() {
            for azure_only in ["tags", "location", "id", "apiVersion", "dependsOn"] {
                o.remove(azure_only);
            }
        }
        for e in p["properties"]["endpoints"]
            .as_array_mut()
            .into_iter()
            .flatten()
        {
            convert_endpoint(e, &children, &mut warnings);
        }
        if let Some(eps) = p["properties"]["endpoints"].as_array_mut() {
            eps.retain(|e| !e.is_null());
        }
        let typed: ProfileDoc =
            serde_json::from_value(p.clone()).with_context(|| format!("profile {name:?}"))?;
        for field in signpost_model::validate::unknown_fields(&typed) {
            warnings.push(format!("{field} is not known to Signpost and is ignored"));
        }
        out.push(Imported {
            name,
            doc: p,
            warnings,
        });
    }
    Ok(Export {
        profiles: out,
        warnings: warnings_global,
    })
}

/// Azure endpoints become external ones served through their `target`; nested endpoints that
/// only carry the child's FQDN (Azure's own exports do) get the name of the profile whose
/// relative DNS name starts that FQDN; what cannot be served is dropped (set to null), with a
/// warning.
fn convert_endpoint(e: &mut Value, children: &[(String, String)], warnings: &mut Vec<String>) {
    let name = e["name"].as_str().unwrap_or_default().to_string();
    let kind = e["type"].as_str().and_then(EndpointKind::parse);
    if let Some(o) = e.as_object_mut() {
        o.remove("id");
    }
    if kind == Some(EndpointKind::Azure) {
        if e["properties"]["target"]
            .as_str()
            .is_some_and(|t| !t.is_empty())
        {
            e["type"] = json!("externalEndpoints");
            if let Some(p) = e["properties"].as_object_mut() {
                p.remove("targetResourceId");
            }
            warnings.push(format!("endpoint {name:?}: an Azure endpoint, served as an external endpoint at its target (no Azure resource lookup)"));
        } else {
            warnings.push(format!(
                "endpoint {name:?}: an Azure endpoint without a target cannot be served; left out"
            ));
            *e = Value::Null;
        }
    } else if kind == Some(EndpointKind::Nested) {
        let has_id = e["properties"]["targetResourceId"]
            .as_str()
            .is_some_and(|t| !t.is_empty());
        if !has_id {
            let fqdn = e["properties"]["target"]
                .as_str()
                .unwrap_or_default()
                .to_ascii_lowercase();
            let child = children
                .iter()
                .filter(|(relative, _)| {
                    fqdn.strip_prefix(relative.as_str())
                        .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
                })
                .max_by_key(|(relative, _)| relative.len());
            if let Some((_, name)) = child {
                e["properties"]["targetResourceId"] = json!(name);
            } else {
                warnings.push(format!(
                    "endpoint {name:?}: its child profile ({}) is not in this export; left out",
                    e["properties"]["target"]
                ));
                *e = Value::Null;
                return;
            }
        }
        if let Some(p) = e["properties"].as_object_mut() {
            p.remove("target");
        }
    }
}

/// Profiles of an ARM template, with child endpoint resources folded in.
fn arm_profiles(template: &Value, warnings: &mut Vec<String>) -> Result<Vec<Value>> {
    let resolve = |raw: &str| -> Option<String> {
        let raw = raw.trim();
        if !raw.starts_with('[') {
            return Some(raw.to_string());
        }
        let inner = raw.strip_prefix("[parameters('")?.strip_suffix("')]")?;
        template["parameters"][inner]["defaultValue"]
            .as_str()
            .map(str::to_string)
    };
    let resources = template["resources"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut profiles: Vec<Value> = Vec::new();
    for r in &resources {
        if !r["type"]
            .as_str()
            .is_some_and(|t| t.eq_ignore_ascii_case(PROFILE_TYPE))
        {
            continue;
        }
        let raw_name = r["name"].as_str().unwrap_or_default();
        let Some(name) = resolve(raw_name) else {
            warnings.push(format!("resource named {raw_name:?}: a template expression without a default value; left out"));
            continue;
        };
        let mut p = r.clone();
        p["name"] = json!(name);
        if let Some(rel) = p["properties"]["dnsConfig"]["relativeName"]
            .as_str()
            .and_then(resolve)
        {
            p["properties"]["dnsConfig"]["relativeName"] = json!(rel);
        }
        profiles.push(p);
    }
    for r in &resources {
        let Some(endpoint_kind) = r["type"]
            .as_str()
            .filter(|t| t.contains('/') && !t.eq_ignore_ascii_case(PROFILE_TYPE))
            .and_then(EndpointKind::parse)
        else {
            continue;
        };
        let raw_name = r["name"].as_str().unwrap_or_default();
        let Some((parent, endpoint)) = resolve(raw_name).and_then(|full| {
            full.split_once('/')
                .map(|(p, e)| (p.to_string(), e.to_string()))
        }) else {
            warnings.push(format!("endpoint resource named {raw_name:?}: a template expression Signpost cannot evaluate; left out"));
            continue;
        };
        if let Some(p) = profiles.iter_mut().find(|p| {
            p["name"]
                .as_str()
                .is_some_and(|n| n.eq_ignore_ascii_case(&parent))
        }) {
            let mut e = r.clone();
            e["name"] = json!(endpoint);
            e["type"] = json!(endpoint_kind.as_str());
            if let Some(o) = e.as_object_mut() {
                o.remove("apiVersion");
                o.remove("dependsOn");
            }
            if !p["properties"]["endpoints"].is_array() {
                p["properties"]["endpoints"] = json!([]);
            }
            p["properties"]["endpoints"]
                .as_array_mut()
                .expect("made an array")
                .push(e);
        }
    }
    Ok(profiles)
}

/// `signpost import azure FILE`.
pub fn run(client: &Client, output: Output, args: ImportArgs) -> Result<()> {
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let Export {
        profiles: imported,
        warnings,
    } = read(&text).with_context(|| args.file.display().to_string())?;
    for w in &warnings {
        eprintln!("warning: {w}");
    }
    for p in &imported {
        for w in &p.warnings {
            eprintln!("warning: profile {}: {w}", p.name);
        }
    }
    // Existing profiles are left alone unless --overwrite; the rest go to the server's bulk
    // apply in one transaction, which validates children and parents together.
    let existing: Vec<String> = if args.overwrite {
        Vec::new()
    } else {
        let list = ok(
            client.request("GET", "/api/v1/profiles", &[], None)?,
            "list",
        )?;
        list["value"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p["name"].as_str().map(str::to_ascii_lowercase))
            .collect()
    };
    let (kept, sent): (Vec<&Imported>, Vec<&Imported>) = imported
        .iter()
        .partition(|p| existing.contains(&p.name.to_ascii_lowercase()));
    let mut failed: Vec<(String, String)> = kept
        .iter()
        .map(|p| {
            (
                p.name.clone(),
                "already exists (use --overwrite to replace it)".to_string(),
            )
        })
        .collect();
    let mut created = Vec::new();
    if !sent.is_empty() {
        let body = json!({ "profiles": sent.iter().map(|p| &p.doc).collect::<Vec<_>>() });
        let reply = client.request("POST", "/api/v1/apply", &[], Some(&body))?;
        if (200..300).contains(&reply.status) {
            let applied: ApplyReport =
                serde_json::from_value(reply.body).context("the server's apply report")?;
            created.extend(applied.created);
            created.extend(applied.updated);
        } else {
            let error = reply.error_text();
            failed.extend(sent.iter().map(|p| (p.name.clone(), error.clone())));
        }
    }
    let report = json!({
        "created": created,
        "failed": failed.iter().map(|(n, e)| json!({"profile": n, "error": e})).collect::<Vec<_>>(),
        "warnings": warnings.iter().map(|w| json!({"profile": null, "warning": w}))
            .chain(imported.iter().flat_map(|p| p.warnings.iter().map(move |w| json!({"profile": p.name, "warning": w}))))
            .collect::<Vec<_>>(),
    });
    match output {
        Output::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        Output::Text => {
            for n in &created {
                println!("imported profile {n}");
            }
            for (n, e) in &failed {
                println!("not imported: profile {n}: {e}");
            }
        }
    }
    if !failed.is_empty() {
        bail!(
            "{} of {} profiles not imported",
            failed.len(),
            imported.len()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Azure's exports give a nested endpoint only its child's FQDN; the child is found by its
    /// relative DNS name, which need not be its profile name nor a single label.
    #[test]
    fn a_nested_endpoint_finds_its_child_by_relative_name() {
        let export = json!([
            {"name": "parent", "properties": {"trafficRoutingMethod": "Priority", "endpoints": [
                {"name": "to-eu", "type": "Microsoft.Network/trafficManagerProfiles/nestedEndpoints",
                 "properties": {"target": "shop-eu.trafficmanager.net", "minChildEndpoints": 1}},
                {"name": "to-eu-west", "type": "Microsoft.Network/trafficManagerProfiles/nestedEndpoints",
                 "properties": {"target": "shop-eu.west.trafficmanager.net"}},
                {"name": "elsewhere", "type": "Microsoft.Network/trafficManagerProfiles/nestedEndpoints",
                 "properties": {"target": "other.trafficmanager.net"}}
            ]}},
            {"name": "europe", "properties": {"dnsConfig": {"relativeName": "shop-eu"}}},
            {"name": "europe-west", "properties": {"dnsConfig": {"relativeName": "shop-eu.west"}}}
        ]);
        let imported = read(&export.to_string()).unwrap().profiles;
        let endpoints = imported[0].doc["properties"]["endpoints"]
            .as_array()
            .unwrap();
        let children: Vec<&str> = endpoints
            .iter()
            .map(|e| e["properties"]["targetResourceId"].as_str().unwrap())
            .collect();
        assert_eq!(children, ["europe", "europe-west"]);
        assert!(
            imported[0]
                .warnings
                .iter()
                .any(|w| w.contains("\"elsewhere\"")),
            "{:?}",
            imported[0].warnings
        );
    }
}
