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
use signpost_model::azure::{EndpointDoc, PROFILE_TYPE, ProfileDoc};

use signpost_api::openapi::ApplyReport;

use crate::cli::{ImportArgs, Output};
use crate::client::Client;
use crate::commands::ok;

/// A profile ready to create, and what was left out of it.
#[derive(Debug)]
pub struct Imported {
    /// Profile name.
    pub name: String,
    /// The document to create.
    pub doc: ProfileDoc,
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
    let typed_all = |list: &[Value]| -> Result<Vec<Imported>> {
        list.iter().cloned().map(typed_profile).collect()
    };
    let mut out = match &root {
        Value::Array(a) => typed_all(a)?,
        Value::Object(o) if o.contains_key("resources") => {
            arm_profiles(&root, &mut warnings_global)?
        }
        Value::Object(o) if o.get("value").is_some_and(Value::is_array) => {
            typed_all(o["value"].as_array().map(Vec::as_slice).unwrap_or_default())?
        }
        Value::Object(o) if o.contains_key("properties") => vec![typed_profile(root.clone())?],
        _ => bail!(
            "not an Azure Traffic Manager export: expected a profile, a list of profiles, or an ARM template"
        ),
    };
    // (relative DNS name, profile name) of every profile in the export, for nested endpoints
    // that only carry their child's FQDN.
    let children: Vec<(String, String)> = out
        .iter()
        .filter_map(|p| Some((p.doc.relative_name()?, p.doc.name.clone()?)))
        .collect();
    for p in &mut out {
        if let Some(endpoints) = p.doc.properties.as_mut().and_then(|d| d.endpoints.as_mut()) {
            endpoints.retain_mut(|e| convert_endpoint(e, &children, &mut p.warnings));
        }
        for field in signpost_model::validate::unknown_fields(&p.doc) {
            p.warnings
                .push(format!("{field} is not known to Signpost and is ignored"));
        }
    }
    Ok(Export {
        profiles: out,
        warnings: warnings_global,
    })
}

/// One profile of the export as a typed document. ARM's own fields (tags, location, id,
/// apiVersion, dependsOn) go first, since in a template they may be expressions rather than
/// document fields; tags are reported, Signpost has none.
fn typed_profile(mut p: Value) -> Result<Imported> {
    let name = p
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
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
    let doc = serde_json::from_value(p).with_context(|| format!("profile {name:?}"))?;
    Ok(Imported {
        name,
        doc,
        warnings,
    })
}

/// Azure endpoints become external ones served through their `target`; nested endpoints that
/// only carry the child's FQDN (Azure's own exports do) get the name of the profile whose
/// relative DNS name starts that FQDN. Returns whether the endpoint can be served; one that
/// cannot is left out, with a warning.
fn convert_endpoint(
    e: &mut EndpointDoc,
    children: &[(String, String)],
    warnings: &mut Vec<String>,
) -> bool {
    let name = e.name.clone().unwrap_or_default();
    let kind = e.endpoint_type.as_deref().and_then(EndpointKind::parse);
    e.id = None;
    let target = e.properties.as_ref().and_then(|p| p.target.clone());
    if kind == Some(EndpointKind::Azure) {
        if target.as_deref().is_some_and(|t| !t.is_empty()) {
            e.endpoint_type = Some(EndpointKind::External.as_str().to_string());
            if let Some(p) = e.properties.as_mut() {
                p.target_resource_id = None;
            }
            warnings.push(format!("endpoint {name:?}: an Azure endpoint, served as an external endpoint at its target (no Azure resource lookup)"));
        } else {
            warnings.push(format!(
                "endpoint {name:?}: an Azure endpoint without a target cannot be served; left out"
            ));
            return false;
        }
    } else if kind == Some(EndpointKind::Nested) {
        let props = e.properties.get_or_insert_default();
        let has_id = props
            .target_resource_id
            .as_deref()
            .is_some_and(|t| !t.is_empty());
        if !has_id {
            let fqdn = target.as_deref().unwrap_or_default().to_ascii_lowercase();
            let child = children
                .iter()
                .filter(|(relative, _)| {
                    fqdn.strip_prefix(relative.as_str())
                        .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
                })
                .max_by_key(|(relative, _)| relative.len());
            if let Some((_, name)) = child {
                props.target_resource_id = Some(name.clone());
            } else {
                warnings.push(format!(
                    "endpoint {name:?}: its child profile ({}) is not in this export; left out",
                    Value::from(target)
                ));
                return false;
            }
        }
        props.target = None;
    }
    true
}

/// Profiles of an ARM template, with child endpoint resources folded in.
fn arm_profiles(template: &Value, warnings: &mut Vec<String>) -> Result<Vec<Imported>> {
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
    let mut profiles: Vec<Imported> = Vec::new();
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
        let mut imported = typed_profile(p)?;
        if let Some(dns) = imported
            .doc
            .properties
            .as_mut()
            .and_then(|p| p.dns_config.as_mut())
            && let Some(rel) = dns.relative_name.as_deref().and_then(resolve)
        {
            dns.relative_name = Some(rel);
        }
        profiles.push(imported);
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
        if let Some(p) = profiles
            .iter_mut()
            .find(|p| p.name.eq_ignore_ascii_case(&parent))
        {
            let mut e = r.clone();
            e["name"] = json!(endpoint);
            e["type"] = json!(endpoint_kind.as_str());
            if let Some(o) = e.as_object_mut() {
                o.remove("apiVersion");
                o.remove("dependsOn");
            }
            let e: EndpointDoc =
                serde_json::from_value(e).with_context(|| format!("profile {:?}", p.name))?;
            p.doc.endpoints_mut().push(e);
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
        let children: Vec<&str> = imported[0]
            .doc
            .endpoints()
            .iter()
            .map(|e| {
                let props = e.properties.as_ref().unwrap();
                props.target_resource_id.as_deref().unwrap()
            })
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
