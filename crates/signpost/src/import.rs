//! `signpost import azure FILE`: profiles exported from Azure, created on the server.
//!
//! Accepts the output of `az network traffic-manager profile show` (one profile) and `... list`
//! (an array), a REST list response (`{"value": [...]}`), and ARM templates (`{"resources": [...]}`
//! with resources of type `Microsoft.Network/trafficManagerProfiles`, endpoints inline or as child
//! resources, names as literals or `[parameters('x')]` with a default value). What cannot be carried
//! over is said, per profile and field, and left out; the rest is created through the API.

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use signpost_model::azure::ProfileDoc;

use crate::cli::{ImportArgs, Output};
use crate::client::Client;

const ARM_TYPE: &str = "microsoft.network/trafficmanagerprofiles";

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

/// Reads an Azure export into profile documents (no server involved).
pub fn read(text: &str) -> Result<Vec<Imported>> {
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
    let relative_names: Vec<String> = raw
        .iter()
        .filter_map(|p| {
            p["properties"]["dnsConfig"]["relativeName"]
                .as_str()
                .or(p["name"].as_str())
                .map(str::to_ascii_lowercase)
        })
        .collect();
    let mut out = Vec::new();
    for mut p in raw {
        let name = p["name"].as_str().unwrap_or_default().to_string();
        let mut warnings = std::mem::take(&mut warnings_global);
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
            convert_endpoint(e, &relative_names, &mut warnings);
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
    Ok(out)
}

/// Azure endpoints become external ones served through their `target`; nested endpoints that
/// only carry the child's FQDN (Azure's own exports do) get the child's name; what cannot be
/// served is dropped (set to null), with a warning.
fn convert_endpoint(e: &mut Value, relative_names: &[String], warnings: &mut Vec<String>) {
    let name = e["name"].as_str().unwrap_or_default().to_string();
    let kind = e["type"].as_str().unwrap_or_default().to_ascii_lowercase();
    if let Some(o) = e.as_object_mut() {
        o.remove("id");
    }
    if kind.ends_with("azureendpoints") {
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
    } else if kind.ends_with("nestedendpoints") {
        let has_id = e["properties"]["targetResourceId"]
            .as_str()
            .is_some_and(|t| !t.is_empty());
        if !has_id {
            let label = e["properties"]["target"]
                .as_str()
                .and_then(|t| t.split('.').next())
                .unwrap_or_default()
                .to_ascii_lowercase();
            if relative_names.contains(&label) {
                e["properties"]["targetResourceId"] = json!(label);
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
        let kind = r["type"].as_str().unwrap_or_default().to_ascii_lowercase();
        if kind != ARM_TYPE {
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
        let kind = r["type"].as_str().unwrap_or_default().to_ascii_lowercase();
        let Some(endpoint_kind) = kind.strip_prefix(&format!("{ARM_TYPE}/")) else {
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
            e["type"] = json!(endpoint_kind);
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
    let imported = read(&text)?;
    for p in &imported {
        for w in &p.warnings {
            eprintln!("warning: profile {}: {w}", p.name);
        }
    }
    // Children before parents: retry refused creations while any succeeds.
    let mut pending: Vec<&Imported> = imported.iter().collect();
    let mut created = Vec::new();
    let mut failed: Vec<(String, String)> = Vec::new();
    while !pending.is_empty() {
        let mut refused = Vec::new();
        failed.clear();
        for p in &pending {
            let headers: &[(&str, &str)] = if args.overwrite {
                &[]
            } else {
                &[("If-None-Match", "*")]
            };
            let reply = client.request(
                "PUT",
                &format!("/api/v1/profiles/{}", p.name),
                headers,
                Some(&p.doc),
            )?;
            match reply.status {
                200..=299 => created.push(p.name.clone()),
                400 => {
                    failed.push((p.name.clone(), reply.error_text()));
                    refused.push(*p);
                }
                412 => failed.push((
                    p.name.clone(),
                    "already exists (use --overwrite to replace it)".into(),
                )),
                _ => failed.push((p.name.clone(), reply.error_text())),
            }
        }
        if refused.len() == pending.len() {
            break;
        }
        pending = refused;
    }
    let report = json!({
        "created": created,
        "failed": failed.iter().map(|(n, e)| json!({"profile": n, "error": e})).collect::<Vec<_>>(),
        "warnings": imported.iter().flat_map(|p| p.warnings.iter().map(move |w| json!({"profile": p.name, "warning": w}))).collect::<Vec<_>>(),
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
