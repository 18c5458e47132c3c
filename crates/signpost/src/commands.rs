//! The client subcommands: each one call (or a few) to the API of a running server.

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use signpost_api::openapi::ApplyReport;
use signpost_model::EndpointKind;
use signpost_model::azure::{
    DnsConfigDoc, EndpointDoc, EndpointPropertiesDoc, MonitorConfigDoc, ProfileDoc,
    ProfilePropertiesDoc,
};
use signpost_model::set::ProfilesFile;

use crate::cli::{
    ApplyArgs, EndpointCommand, ExplainArgs, Output, OverrideCommand, ProfileCommand,
};
use crate::client::{Client, Reply, profile_path, segment};

/// The resource asked for does not exist (exit code 3).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct NotFound(pub String);

/// The body of a successful reply; a 404 becomes [`NotFound`] (exit code 3), other failures an
/// error naming `what`.
pub(crate) fn ok(reply: Reply, what: &str) -> Result<Value> {
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
                for p in documents(&body["value"]) {
                    let props = p.properties.unwrap_or_default();
                    out.push_str(&format!(
                        "\n{:<24} {:<12} {:<18} {:>9} {:<40}",
                        p.name.unwrap_or_default(),
                        props.traffic_routing_method.unwrap_or_default(),
                        props
                            .monitor_config
                            .and_then(|m| m.profile_monitor_status)
                            .unwrap_or_else(|| "-".into()),
                        props.endpoints.map_or(0, |e| e.len()),
                        props.dns_config.and_then(|d| d.fqdn).unwrap_or_default(),
                    ));
                }
                out
            });
        }
        ProfileCommand::Show { name } => {
            let body = ok(
                client.request("GET", &profile_path(&name), &[], None)?,
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
            let doc = ProfileDoc {
                name: Some(name.clone()),
                properties: Some(ProfilePropertiesDoc {
                    traffic_routing_method: Some(method),
                    dns_config: Some(DnsConfigDoc {
                        relative_name: Some(relative_name.unwrap_or_else(|| name.clone())),
                        ttl: Some(i64::from(ttl)),
                        ..DnsConfigDoc::default()
                    }),
                    monitor_config: Some(MonitorConfigDoc {
                        protocol: Some(protocol),
                        port: port.map(i64::from),
                        path,
                        ..MonitorConfigDoc::default()
                    }),
                    endpoints: Some(Vec::new()),
                    ..ProfilePropertiesDoc::default()
                }),
                ..ProfileDoc::default()
            };
            let body = ok(
                client.request(
                    "PUT",
                    &profile_path(&name),
                    &[("If-None-Match", "*")],
                    Some(&doc.to_value()),
                )?,
                &name,
            )?;
            print(output, &body, || {
                let fqdn = document(&body)
                    .properties
                    .and_then(|p| p.dns_config)
                    .and_then(|d| d.fqdn);
                format!("created profile {name} ({})", fqdn.unwrap_or_default())
            });
        }
        ProfileCommand::Delete { name } => {
            ok(
                client.request("DELETE", &profile_path(&name), &[], None)?,
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
        client.request("GET", &profile_path(profile), &[], None)?,
        profile,
    )?;
    let doc = document(&body);
    let found = doc.endpoints().iter().find(|e| e.is_named(name));
    match found.and_then(|e| e.endpoint_type.as_deref()) {
        Some(t) => Ok(EndpointKind::parse(t)
            .unwrap_or(EndpointKind::External)
            .as_str()
            .to_string()),
        None => Err(NotFound(format!("profile {profile} has no endpoint {name:?}")).into()),
    }
}

/// A profile from a reply (an empty one when the reply is not a profile, so that a table
/// shows blanks rather than failing).
fn document(v: &Value) -> ProfileDoc {
    ProfileDoc::from_value(v.clone()).unwrap_or_default()
}

/// The profiles of a list reply's `value`.
fn documents(v: &Value) -> Vec<ProfileDoc> {
    v.as_array().into_iter().flatten().map(document).collect()
}

/// An endpoint write's body: `{"properties": {...}}` with only the fields given.
fn endpoint_body(props: EndpointPropertiesDoc) -> Value {
    EndpointDoc {
        properties: Some(props),
        ..EndpointDoc::default()
    }
    .to_value()
}

/// `signpost endpoint ...`.
pub fn endpoint(client: &Client, output: Output, cmd: EndpointCommand) -> Result<()> {
    let (profile, name, kind, method, body, done) = match cmd {
        EndpointCommand::Override(cmd) => return override_endpoint(client, output, cmd),
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
            let kind = if child.is_some() {
                "nestedEndpoints"
            } else {
                "externalEndpoints"
            };
            let props = EndpointPropertiesDoc {
                target_resource_id: child.clone(),
                target: if child.is_some() { None } else { target },
                priority: priority.map(i64::from),
                weight: weight.map(i64::from),
                endpoint_location: location,
                geo_mapping: (!geo.is_empty()).then_some(geo),
                ..EndpointPropertiesDoc::default()
            };
            (
                profile,
                name,
                kind.to_string(),
                "PUT",
                endpoint_body(props),
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
            let props = EndpointPropertiesDoc {
                target,
                priority: priority.map(i64::from),
                weight: weight.map(i64::from),
                endpoint_location: location,
                ..EndpointPropertiesDoc::default()
            };
            (
                profile,
                name,
                kind,
                "PATCH",
                endpoint_body(props),
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
                endpoint_body(endpoint_status("Enabled")),
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
                endpoint_body(endpoint_status("Disabled")),
                "disabled",
            )
        }
        EndpointCommand::Remove { profile, name } => {
            let kind = endpoint_type(client, &profile, &name)?;
            (profile, name, kind, "DELETE", Value::Null, "removed")
        }
    };
    let path = format!("{}/{kind}/{}", profile_path(&profile), segment(&name));
    let body = if method == "DELETE" {
        None
    } else {
        Some(&body)
    };
    // `add` only creates: the server refuses (412) when the profile already has the endpoint,
    // in the same transaction as the write, so an add never silently replaces one.
    let add = done == "added";
    let headers: &[(&str, &str)] = if add { &[("If-None-Match", "*")] } else { &[] };
    let reply = client.request(method, &path, headers, body)?;
    if add && reply.status == 412 {
        bail!(
            "{profile}/{name}: endpoint already exists (use endpoint set): {}",
            reply.error_text()
        );
    }
    let reply = ok(reply, &format!("{profile}/{name}"))?;
    print(output, &reply, || {
        format!("{done} endpoint {name} of profile {profile}")
    });
    Ok(())
}

/// `signpost endpoint force-down|force-up|clear-override`: the endpoint's `override` resource.
fn override_endpoint(client: &Client, output: Output, cmd: OverrideCommand) -> Result<()> {
    let (profile, name, force) = match cmd {
        OverrideCommand::ForceDown(a) => (a.profile.clone(), a.name.clone(), Some(("Degraded", a))),
        OverrideCommand::ForceUp(a) => (a.profile.clone(), a.name.clone(), Some(("Online", a))),
        OverrideCommand::ClearOverride { profile, name } => (profile, name, None),
    };
    let kind = endpoint_type(client, &profile, &name)?;
    let path = format!(
        "{}/{kind}/{}/override",
        profile_path(&profile),
        segment(&name)
    );
    let what = format!("{profile}/{name}");
    match force {
        Some((state, args)) => {
            let mut body = json!({"state": state, "reason": args.reason});
            if let Some(d) = &args.duration {
                body["for"] = json!(d);
            }
            if let Ok(user) = std::env::var("USER").or_else(|_| std::env::var("LOGNAME")) {
                body["createdBy"] = json!(user);
            }
            let reply = ok(client.request("PUT", &path, &[], Some(&body))?, &what)?;
            print(output, &reply, || {
                let until = reply["expiresAt"]
                    .as_str()
                    .map_or("until cleared".to_string(), |t| format!("until {t}"));
                format!(
                    "forced endpoint {name} of profile {profile} {state} {until}: {}",
                    reply["reason"].as_str().unwrap_or_default()
                )
            });
        }
        None => {
            ok(client.request("DELETE", &path, &[], None)?, &what)?;
            print(
                output,
                &json!({"cleared": {"profile": profile, "endpoint": name}}),
                || {
                    format!(
                        "cleared any override of endpoint {name} of profile {profile}: its probes decide"
                    )
                },
            );
        }
    }
    Ok(())
}

fn endpoint_status(status: &str) -> EndpointPropertiesDoc {
    EndpointPropertiesDoc {
        endpoint_status: Some(status.to_string()),
        ..EndpointPropertiesDoc::default()
    }
}

/// `signpost explain`.
pub fn explain(client: &Client, output: Output, args: ExplainArgs) -> Result<()> {
    let path = format!(
        "{}/explain?clientIp={}&type={}",
        profile_path(&args.profile),
        segment(&args.client_ip.to_string()),
        segment(&args.qtype)
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
            client.request("GET", &format!("{}/status", profile_path(name)), &[], None)?,
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
        let mut rows = Vec::new();
        let mut forced = Vec::new();
        for p in &all {
            let text = |v: &Value| v.as_str().unwrap_or("").to_string();
            let profile_status = crate::status::profile_label(
                p["profileMonitorStatus"].as_str().unwrap_or(""),
                p["failOpen"] == json!(true),
                p["allDown"] == json!(true),
            );
            for e in p["endpoints"].as_array().into_iter().flatten() {
                let endpoint_status = text(&e["endpointMonitorStatus"]);
                if let Some(o) = e.get("override") {
                    forced.push(crate::status::override_line(
                        &text(&p["name"]),
                        &text(&e["name"]),
                        &text(&o["state"]),
                        &text(&o["reason"]),
                        o["expiresAt"].as_str(),
                    ));
                }
                let endpoint_status =
                    crate::status::forced_label(&endpoint_status, e.get("override").is_some());
                let last = &e["lastProbe"];
                let (last_probe, latency) = if !last.is_null() {
                    (text(&last["result"]), format!("{} ms", last["latencyMs"]))
                } else if matches!(endpoint_status.as_str(), "Unmonitored" | "Disabled")
                    || e["consecutiveFailures"].is_null()
                {
                    // The monitor keeps a state for every endpoint it probes; nested endpoints
                    // (health from the child profile) have none.
                    ("not probed".to_string(), String::new())
                } else {
                    ("no result yet".to_string(), String::new())
                };
                rows.push(crate::status::Row {
                    profile: text(&p["name"]),
                    profile_status: profile_status.clone(),
                    endpoint: text(&e["name"]),
                    endpoint_status,
                    last_probe,
                    latency,
                    nodes: crate::status::nodes_label(
                        e["nodes"].as_array().into_iter().flatten().map(|n| {
                            (
                                n["node"].as_str().unwrap_or("?"),
                                n["status"].as_str().unwrap_or("?"),
                            )
                        }),
                    ),
                });
            }
        }
        let mut out = crate::status::table(&rows);
        out.push_str(&crate::status::overrides_section(&forced));
        out
    });
    Ok(())
}

/// `signpost apply -f FILE [--prune] [--dry-run]`: the file goes to the server's bulk apply,
/// which validates the whole resulting configuration and applies it in one transaction (or, with
/// `--dry-run`, only reports), so nothing is ever half applied.
pub fn apply(client: &Client, output: Output, args: ApplyArgs) -> Result<()> {
    let file = ProfilesFile::read(&args.file)?;
    let body = json!({ "profiles": file.documents() });
    let path = format!("/api/v1/apply?prune={}&dryRun={}", args.prune, args.dry_run);
    let shown = args.file.display().to_string();
    let reply = ok(client.request("POST", &path, &[], Some(&body))?, &shown)?;
    let applied: ApplyReport =
        serde_json::from_value(reply).context("the server's apply report")?;
    let plan: Vec<(&str, &String)> = [
        ("create", &applied.created),
        ("update", &applied.updated),
        ("delete", &applied.deleted),
    ]
    .into_iter()
    .flat_map(|(action, names)| names.iter().map(move |n| (action, n)))
    .collect();
    let report = json!({"dryRun": args.dry_run, "changes": plan.iter().map(|(a, n)| json!({"action": a, "profile": n})).collect::<Vec<_>>()});
    if plan.is_empty() {
        print(output, &report, || {
            "no changes: the server already matches the file".to_string()
        });
        return Ok(());
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

/// `signpost rum key [--new | --delete]`.
pub fn rum_key(client: &Client, output: Output, args: &crate::cli::RumKeyArgs) -> Result<()> {
    if args.delete {
        ok(
            client.request("DELETE", "/api/v1/rum/key", &[], None)?,
            "rum key",
        )?;
        if output == Output::Text {
            println!("user metrics key removed: reports are refused");
        }
        return Ok(());
    }
    let method = if args.new { "PUT" } else { "GET" };
    let body = ok(
        client.request(method, "/api/v1/rum/key", &[], None)?,
        "rum key",
    )?;
    print(output, &body, || {
        body["key"].as_str().unwrap_or("").to_string()
    });
    Ok(())
}

/// `signpost dnssec ds|dnskey ZONE`, `signpost dnssec roll start|finish ZONE`.
pub fn dnssec(client: &Client, output: Output, cmd: crate::cli::DnssecCommand) -> Result<()> {
    use crate::cli::DnssecCommand;
    let (body, field) = match &cmd {
        DnssecCommand::Ds(z) | DnssecCommand::Dnskey(z) => {
            let path = format!("/api/v1/dnssec/{}", segment(&z.zone));
            let body = ok(client.request("GET", &path, &[], None)?, "dnssec")?;
            let field = if matches!(cmd, DnssecCommand::Ds(_)) {
                "ds"
            } else {
                "dnskey"
            };
            (body, field)
        }
        DnssecCommand::Roll(r) => {
            let path = format!("/api/v1/dnssec/{}/roll", segment(&r.zone));
            let mut request = serde_json::json!({ "step": r.step, "force": r.force });
            if let Some(a) = &r.algorithm {
                request["algorithm"] = a.clone().into();
            }
            let body = ok(
                client.request("POST", &path, &[], Some(&request))?,
                "dnssec roll",
            )?;
            (body, "ds")
        }
    };
    print(output, &body, || {
        body["keys"]
            .as_array()
            .map(|keys| {
                keys.iter()
                    .filter_map(|k| k[field].as_str())
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .unwrap_or_default()
    });
    Ok(())
}

/// `signpost nodes`: the fleet's live nodes (this one first).
pub fn nodes(client: &Client, output: Output) -> Result<()> {
    let body = ok(client.request("GET", "/api/v1/nodes", &[], None)?, "nodes")?;
    print(output, &body, || {
        let now = signpost_health::now_ms();
        let mut out = format!(
            "store {}, health quorum {}\n{:<24} {:>14} {:>9} {:<14} {:<16}",
            body["store"].as_str().unwrap_or("?"),
            body["healthQuorum"].as_str().unwrap_or("?"),
            "NODE",
            "HEARTBEAT",
            "REVISION",
            "ETCD",
            "PROBE SOURCE"
        );
        for n in body["nodes"].as_array().into_iter().flatten() {
            let name = match n["self"].as_bool() {
                Some(true) => format!("{} (this node)", n["name"].as_str().unwrap_or("?")),
                _ => n["name"].as_str().unwrap_or("?").to_string(),
            };
            let heartbeat = n["lastHeartbeatMs"].as_u64().map_or("-".to_string(), |t| {
                format!("{:.1} s ago", now.saturating_sub(t) as f64 / 1000.0)
            });
            let etcd = match n["etcdConnected"].as_bool() {
                Some(true) => "connected",
                Some(false) => "not connected",
                None => "unknown",
            };
            out.push_str(&format!(
                "\n{:<24} {:>14} {:>9} {:<14} {:<16}",
                name,
                heartbeat,
                n["appliedRevision"].to_string(),
                etcd,
                n["probeSource"].as_str().unwrap_or("-")
            ));
        }
        out
    });
    Ok(())
}
