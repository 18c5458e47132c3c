//! The client subcommands: each one call (or a few) to the API of a running server.

use std::collections::BTreeMap;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use signpost_api::reference::{RegionList, RegionSource};
use signpost_model::regions::{Catalogue, Region};
use signpost_model::{Limits, ProfileSet};

use crate::cli::{ApplyArgs, EndpointCommand, ExplainArgs, Output, ProfileCommand};
use crate::client::{Client, Reply};

const ARM_TYPE: &str = "Microsoft.Network/trafficManagerProfiles";

/// The resource asked for does not exist (exit code 3).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct NotFound(pub String);

fn ok(reply: Reply, what: &str) -> Result<Value> {
    match reply.status {
        200..=299 => Ok(reply.body),
        404 => Err(NotFound(format!("{what}: {}", reply.error_text())).into()),
        _ => bail!("{what}: {}", reply.error_text()),
    }
}

fn print(output: Output, value: &Value, text: impl FnOnce() -> String) {
    match output {
        Output::Json => println!(
            "{}",
            serde_json::to_string_pretty(value).unwrap_or_default()
        ),
        Output::Text => println!("{}", text()),
    }
}

/// `signpost profile ...`.
pub fn profile(client: &Client, output: Output, cmd: ProfileCommand) -> Result<()> {
    match cmd {
        ProfileCommand::List => {
            let body = ok(
                client.request("GET", "/api/v1/profiles", &[], None)?,
                "list",
            )?;
            print(output, &body, || {
                let mut out = format!(
                    "{:<24} {:<12} {:<18} {:>9} {:<40}",
                    "NAME", "METHOD", "STATUS", "ENDPOINTS", "FQDN"
                );
                for p in body["value"].as_array().into_iter().flatten() {
                    let props = &p["properties"];
                    out.push_str(&format!(
                        "\n{:<24} {:<12} {:<18} {:>9} {:<40}",
                        p["name"].as_str().unwrap_or(""),
                        props["trafficRoutingMethod"].as_str().unwrap_or(""),
                        props["monitorConfig"]["profileMonitorStatus"]
                            .as_str()
                            .unwrap_or("-"),
                        props["endpoints"].as_array().map_or(0, Vec::len),
                        props["dnsConfig"]["fqdn"].as_str().unwrap_or(""),
                    ));
                }
                out
            });
        }
        ProfileCommand::Show { name } => {
            let body = ok(
                client.request("GET", &format!("/api/v1/profiles/{name}"), &[], None)?,
                &name,
            )?;
            println!("{}", serde_json::to_string_pretty(&body)?);
        }
        ProfileCommand::Create {
            name,
            method,
            relative_name,
            ttl,
            protocol,
            port,
            path,
        } => {
            let mut monitor = json!({"protocol": protocol});
            if let Some(p) = port {
                monitor["port"] = json!(p);
            }
            if let Some(p) = path {
                monitor["path"] = json!(p);
            }
            let doc = json!({"name": name, "properties": {
                "trafficRoutingMethod": method,
                "dnsConfig": {"relativeName": relative_name.unwrap_or_else(|| name.clone()), "ttl": ttl},
                "monitorConfig": monitor,
                "endpoints": [],
            }});
            let body = ok(
                client.request(
                    "PUT",
                    &format!("/api/v1/profiles/{name}"),
                    &[("If-None-Match", "*")],
                    Some(&doc),
                )?,
                &name,
            )?;
            print(output, &body, || {
                format!(
                    "created profile {name} ({})",
                    body["properties"]["dnsConfig"]["fqdn"]
                        .as_str()
                        .unwrap_or("")
                )
            });
        }
        ProfileCommand::Delete { name } => {
            ok(
                client.request("DELETE", &format!("/api/v1/profiles/{name}"), &[], None)?,
                &name,
            )?;
            print(output, &json!({"deleted": name}), || {
                format!("deleted profile {name}")
            });
        }
    }
    Ok(())
}

/// The type segment of an existing endpoint (`externalEndpoints`, ...).
fn endpoint_type(client: &Client, profile: &str, name: &str) -> Result<String> {
    let body = ok(
        client.request("GET", &format!("/api/v1/profiles/{profile}"), &[], None)?,
        profile,
    )?;
    let found = body["properties"]["endpoints"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| {
            e["name"]
                .as_str()
                .is_some_and(|n| n.eq_ignore_ascii_case(name))
        });
    match found.and_then(|e| e["type"].as_str()) {
        Some(t) => Ok(t.rsplit('/').next().unwrap_or(t).to_string()),
        None => Err(NotFound(format!("profile {profile} has no endpoint {name:?}")).into()),
    }
}

/// `signpost endpoint ...`.
pub fn endpoint(client: &Client, output: Output, cmd: EndpointCommand) -> Result<()> {
    let (profile, name, kind, method, body, done) = match cmd {
        EndpointCommand::Add {
            profile,
            name,
            target,
            child,
            priority,
            weight,
            location,
            geo,
        } => {
            let mut props = json!({});
            let kind = if let Some(c) = child {
                props["targetResourceId"] = json!(c);
                "nestedEndpoints"
            } else {
                props["target"] = json!(target);
                "externalEndpoints"
            };
            set_opt(&mut props, "priority", priority);
            set_opt(&mut props, "weight", weight);
            set_opt(&mut props, "endpointLocation", location);
            if !geo.is_empty() {
                props["geoMapping"] = json!(geo);
            }
            (
                profile,
                name,
                kind.to_string(),
                "PUT",
                json!({"properties": props}),
                "added",
            )
        }
        EndpointCommand::Set {
            profile,
            name,
            target,
            priority,
            weight,
            location,
        } => {
            let kind = endpoint_type(client, &profile, &name)?;
            let mut props = json!({});
            set_opt(&mut props, "target", target);
            set_opt(&mut props, "priority", priority);
            set_opt(&mut props, "weight", weight);
            set_opt(&mut props, "endpointLocation", location);
            (
                profile,
                name,
                kind,
                "PATCH",
                json!({"properties": props}),
                "updated",
            )
        }
        EndpointCommand::Enable { profile, name } => {
            let kind = endpoint_type(client, &profile, &name)?;
            (
                profile,
                name,
                kind,
                "PATCH",
                json!({"properties": {"endpointStatus": "Enabled"}}),
                "enabled",
            )
        }
        EndpointCommand::Disable { profile, name } => {
            let kind = endpoint_type(client, &profile, &name)?;
            (
                profile,
                name,
                kind,
                "PATCH",
                json!({"properties": {"endpointStatus": "Disabled"}}),
                "disabled",
            )
        }
        EndpointCommand::Remove { profile, name } => {
            let kind = endpoint_type(client, &profile, &name)?;
            (profile, name, kind, "DELETE", Value::Null, "removed")
        }
    };
    let path = format!("/api/v1/profiles/{profile}/{kind}/{name}");
    let body = if method == "DELETE" {
        None
    } else {
        Some(&body)
    };
    let reply = ok(
        client.request(method, &path, &[], body)?,
        &format!("{profile}/{name}"),
    )?;
    print(output, &reply, || {
        format!("{done} endpoint {name} of profile {profile}")
    });
    Ok(())
}

fn set_opt<T: serde::Serialize>(v: &mut Value, key: &str, value: Option<T>) {
    if let Some(x) = value {
        v[key] = json!(x);
    }
}

/// `signpost explain`.
pub fn explain(client: &Client, output: Output, args: ExplainArgs) -> Result<()> {
    let path = format!(
        "/api/v1/profiles/{}/explain?clientIp={}&type={}",
        args.profile, args.client_ip, args.qtype
    );
    let body = ok(client.request("GET", &path, &[], None)?, &args.profile)?;
    print(output, &body, || {
        let mut out = String::new();
        for s in body["steps"].as_array().into_iter().flatten() {
            out.push_str(&format!("  - {}\n", s.as_str().unwrap_or("")));
        }
        let answer: Vec<String> = body["answer"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|a| {
                format!(
                    "{} ({})",
                    a["record"].as_str().unwrap_or(""),
                    a["endpoint"].as_str().unwrap_or("")
                )
            })
            .collect();
        out.push_str(&format!(
            "{} {} from {}: {}",
            body["profile"].as_str().unwrap_or(""),
            body["type"].as_str().unwrap_or(""),
            body["clientIp"].as_str().unwrap_or(""),
            body["outcome"].as_str().unwrap_or("")
        ));
        if !answer.is_empty() {
            out.push_str(&format!(" {}", answer.join(", ")));
        }
        out.push_str(&format!(" (ECS scope /{})", body["ecsScopePrefix"]));
        out
    });
    Ok(())
}

/// `signpost status` through the API.
pub fn status(client: &Client, output: Output, only: Option<&str>) -> Result<()> {
    let list = ok(
        client.request("GET", "/api/v1/profiles", &[], None)?,
        "list",
    )?;
    let mut all = Vec::new();
    for p in list["value"].as_array().into_iter().flatten() {
        let name = p["name"].as_str().unwrap_or_default();
        if only.is_some_and(|o| !o.eq_ignore_ascii_case(name)) {
            continue;
        }
        all.push(ok(
            client.request("GET", &format!("/api/v1/profiles/{name}/status"), &[], None)?,
            name,
        )?);
    }
    if let Some(o) = only
        && all.is_empty()
    {
        return Err(NotFound(format!("no profile {o:?}")).into());
    }
    let value = Value::Array(all.clone());
    print(output, &value, || {
        let mut out = format!(
            "{:<20} {:<18} {:<20} {:<17} {:<40} {:>8}",
            "PROFILE", "PROFILE STATUS", "ENDPOINT", "ENDPOINT STATUS", "LAST PROBE", "LATENCY"
        );
        for p in &all {
            let mut st = p["profileMonitorStatus"].as_str().unwrap_or("").to_string();
            if p["failOpen"] == json!(true) {
                st.push_str(" (FAIL-OPEN)");
            } else if p["allDown"] == json!(true) {
                st.push_str(" (ALL DOWN)");
            }
            for e in p["endpoints"].as_array().into_iter().flatten() {
                let last = &e["lastProbe"];
                let (result, latency) = if last.is_null() {
                    ("-".to_string(), String::new())
                } else {
                    (
                        last["result"]
                            .as_str()
                            .unwrap_or("")
                            .chars()
                            .take(40)
                            .collect(),
                        format!("{} ms", last["latencyMs"]),
                    )
                };
                out.push_str(&format!(
                    "\n{:<20} {:<18} {:<20} {:<17} {:<40} {:>8}",
                    p["name"].as_str().unwrap_or(""),
                    st,
                    e["name"].as_str().unwrap_or(""),
                    e["endpointMonitorStatus"].as_str().unwrap_or(""),
                    result,
                    latency
                ));
            }
        }
        out
    });
    Ok(())
}

/// A document reduced to what an operator wrote: read-only fields, nulls and type spellings
/// normalised, so a file and the server's copy compare equal when they mean the same.
fn normalise(doc: &Value) -> Value {
    let mut d = strip_nulls(doc);
    signpost_model::azure::strip_read_only(&mut d);
    if let Some(o) = d.as_object_mut() {
        o.insert("type".into(), json!(ARM_TYPE));
    }
    if let Some(p) = d.get_mut("properties").and_then(Value::as_object_mut) {
        // The server creates these objects to hold read-only fields; empty, they mean nothing.
        for key in ["dnsConfig", "monitorConfig"] {
            if p.get(key)
                .and_then(Value::as_object)
                .is_some_and(|o| o.is_empty())
            {
                p.remove(key);
            }
        }
        for e in p
            .get_mut("endpoints")
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            if let Some(o) = e.as_object_mut() {
                let t = o
                    .get("type")
                    .and_then(Value::as_str)
                    .unwrap_or("externalEndpoints");
                let short = t.rsplit('/').next().unwrap_or(t).to_string();
                let short = ["externalEndpoints", "nestedEndpoints", "azureEndpoints"]
                    .into_iter()
                    .find(|k| k.eq_ignore_ascii_case(&short))
                    .unwrap_or("externalEndpoints");
                o.insert("type".into(), json!(format!("{ARM_TYPE}/{short}")));
            }
        }
    }
    d
}

fn strip_nulls(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), strip_nulls(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(strip_nulls).collect()),
        other => other.clone(),
    }
}

/// The regions the server knows beyond the built-in ones (its `[[regions]]`); only the built-in
/// ones from a server that does not list its regions.
fn server_regions(client: &Client) -> Result<Catalogue> {
    let reply = client.request("GET", "/api/v1/regions", &[], None)?;
    if reply.status == 404 {
        eprintln!(
            "warning: the server does not list its regions; checking against the built-in ones"
        );
        return Ok(Catalogue::default());
    }
    let list: RegionList =
        serde_json::from_value(ok(reply, "regions")?).context("the server's region list")?;
    let operator = list
        .value
        .into_iter()
        .filter(|r| r.source == RegionSource::Operator)
        .map(|r| Region {
            name: r.name,
            latitude: r.latitude,
            longitude: r.longitude,
        })
        .collect();
    Catalogue::new(operator).context("the server's region list")
}

/// `signpost apply -f FILE [--prune] [--dry-run]`.
pub fn apply(client: &Client, output: Output, args: ApplyArgs) -> Result<()> {
    let shown = args.file.display().to_string();
    let text =
        std::fs::read_to_string(&args.file).with_context(|| format!("cannot read {shown}"))?;
    let json_file = args
        .file
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    let file = signpost_model::set::parse_profiles_file(&text, json_file)
        .map_err(|e| anyhow::anyhow!("{shown}: {e}"))?;
    // The file must be valid on its own before anything is sent, with the server's regions.
    let limits = Limits {
        regions: server_regions(client)?,
        ..Limits::default()
    };
    ProfileSet::from_docs(&file.profiles, &limits).with_context(|| shown.clone())?;
    let desired: BTreeMap<String, Value> = file
        .profiles
        .iter()
        .map(|p| {
            Ok((
                p.name.clone().unwrap_or_default(),
                normalise(&serde_json::to_value(p)?),
            ))
        })
        .collect::<Result<_>>()?;
    let current_list = ok(
        client.request("GET", "/api/v1/profiles", &[], None)?,
        "list",
    )?;
    let current: BTreeMap<String, (Value, String)> = current_list["value"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            let name = p["name"].as_str().unwrap_or_default().to_string();
            (name.to_ascii_lowercase(), (normalise(p), name))
        })
        .collect();
    let mut plan: Vec<(&str, String)> = Vec::new();
    for (name, doc) in &desired {
        match current.get(&name.to_ascii_lowercase()) {
            None => plan.push(("create", name.clone())),
            Some((cur, _)) if cur != doc => plan.push(("update", name.clone())),
            Some(_) => {}
        }
    }
    if args.prune {
        for (lower, (_, name)) in &current {
            if !desired.keys().any(|d| d.eq_ignore_ascii_case(lower)) {
                plan.push(("delete", name.clone()));
            }
        }
    }
    let report = json!({"dryRun": args.dry_run, "changes": plan.iter().map(|(a, n)| json!({"action": a, "profile": n})).collect::<Vec<_>>()});
    if plan.is_empty() {
        print(output, &report, || {
            "no changes: the server already matches the file".to_string()
        });
        return Ok(());
    }
    if !args.dry_run {
        // Creates and updates first (a new child before the parent that nests it: retried in
        // rounds), deletes last (a parent before the child it nests: retried in rounds).
        let mut pending: Vec<&(&str, String)> =
            plan.iter().filter(|(a, _)| *a != "delete").collect();
        pending.extend(plan.iter().filter(|(a, _)| *a == "delete"));
        while !pending.is_empty() {
            let mut refused = Vec::new();
            let mut last_error = None;
            for item in &pending {
                let (action, name) = (item.0, &item.1);
                let path = format!("/api/v1/profiles/{name}");
                let reply = match action {
                    "delete" => client.request("DELETE", &path, &[], None)?,
                    "create" => client.request(
                        "PUT",
                        &path,
                        &[("If-None-Match", "*")],
                        Some(&desired[name]),
                    )?,
                    _ => client.request("PUT", &path, &[], Some(&desired[name]))?,
                };
                match reply.status {
                    200..=299 => {}
                    400 => {
                        last_error = Some(format!("{action} {name}: {}", reply.error_text()));
                        refused.push(*item);
                    }
                    _ => {
                        ok(reply, &format!("{action} {name}"))?;
                    }
                }
            }
            if refused.len() == pending.len() {
                bail!("{}", last_error.unwrap_or_default());
            }
            pending = refused;
        }
    }
    print(output, &report, || {
        let verb = if args.dry_run { "would" } else { "did" };
        plan.iter()
            .map(|(a, n)| format!("{verb} {a} profile {n}"))
            .collect::<Vec<_>>()
            .join("\n")
    });
    Ok(())
}
