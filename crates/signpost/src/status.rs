//! `signpost status`: the status table, from the API or from the status file the server keeps
//! (`signpost_health::persist`).

use std::path::Path;

use anyhow::{Context, Result};
use signpost_health::Event;
use signpost_health::persist::{FILE, read};

/// One line of the status table (`signpost status`, from the API or from the status file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// Profile name.
    pub profile: String,
    /// Its monitor status, with FAIL-OPEN or ALL DOWN said loudly (see [`profile_label`]).
    pub profile_status: String,
    /// Endpoint name.
    pub endpoint: String,
    /// Its monitor status.
    pub endpoint_status: String,
    /// The last probe's result, or why there is none.
    pub last_probe: String,
    /// The last probe's latency (`12 ms`), empty without one.
    pub latency: String,
    /// In a fleet, each node's view (`n1 Online, n2 Degraded`) beside the verdict; else empty.
    pub nodes: String,
}

/// A profile's status for the table: fail-open and all-down profiles are marked.
pub fn profile_label(status: &str, fail_open: bool, all_down: bool) -> String {
    if fail_open {
        format!("{status} (FAIL-OPEN)")
    } else if all_down {
        format!("{status} (ALL DOWN)")
    } else {
        status.to_string()
    }
}

/// The NODES column: each node's view (`n1 Degraded, n2 Online`), when more than one node has
/// one (a node alone needs no column).
pub fn nodes_label<'a>(views: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let views: Vec<String> = views
        .into_iter()
        .map(|(node, status)| format!("{node} {status}"))
        .collect();
    if views.len() > 1 {
        views.join(", ")
    } else {
        String::new()
    }
}

/// An endpoint's status for the table: ` (forced)` after it while an operator override decides
/// (not when Disabled or Inactive, which an override never overrules; the overrides section
/// still lists it).
pub fn forced_label(status: &str, forced: bool) -> String {
    if forced && !matches!(status, "Disabled" | "Inactive") {
        format!("{status} (forced)")
    } else {
        status.to_string()
    }
}

/// One line of the overrides section: `contoso/us-east: forced Degraded until ...: reason`.
pub fn override_line(
    profile: &str,
    endpoint: &str,
    state: &str,
    reason: &str,
    expires_at: Option<&str>,
) -> String {
    let until = expires_at.map_or("until cleared".to_string(), |t| format!("until {t}"));
    format!("  {profile}/{endpoint}: forced {state} {until}: {reason}")
}

/// The overrides section after the table (empty without overrides).
pub fn overrides_section(lines: &[String]) -> String {
    if lines.is_empty() {
        return String::new();
    }
    format!("\n\noperator overrides:\n{}", lines.join("\n"))
}

/// The table: a header, then a line per row (the last probe cut at 40 characters); a NODES
/// column when some row has per-node views.
pub fn table(rows: &[Row]) -> String {
    let fleet = rows.iter().any(|r| !r.nodes.is_empty());
    let line = |c: [&str; 7]| {
        let mut l = format!(
            "{:<20} {:<18} {:<20} {:<17} {:<40} {:>8}",
            c[0], c[1], c[2], c[3], c[4], c[5]
        );
        if fleet {
            l.push_str("  ");
            l.push_str(c[6]);
        }
        l
    };
    let mut out = line([
        "PROFILE",
        "PROFILE STATUS",
        "ENDPOINT",
        "ENDPOINT STATUS",
        "LAST PROBE",
        "LATENCY",
        "NODES",
    ]);
    for r in rows {
        let last: String = r.last_probe.chars().take(40).collect();
        out.push('\n');
        out.push_str(&line([
            &r.profile,
            &r.profile_status,
            &r.endpoint,
            &r.endpoint_status,
            &last,
            &r.latency,
            &r.nodes,
        ]));
    }
    out
}

/// `signpost status [PROFILE] --data-dir DIR`: prints the table from the status file.
pub fn run(dir: &Path, profile: Option<&str>) -> Result<()> {
    let doc = read(dir)?.with_context(|| {
        format!(
            "no {FILE} in {} (is `signpost serve --data-dir {}` running?)",
            dir.display(),
            dir.display()
        )
    })?;
    let age = signpost_health::now_ms().saturating_sub(doc.updated_ms) / 1000;
    println!(
        "status written {age} s ago, configuration serial {}",
        doc.serial
    );
    let mut rows = Vec::new();
    let mut forced = Vec::new();
    for p in doc
        .profiles
        .iter()
        .filter(|p| profile.is_none_or(|n| n.eq_ignore_ascii_case(&p.name)))
    {
        for e in &p.endpoints {
            let (last_probe, latency) = match e.state.as_ref().and_then(|s| s.last.as_ref()) {
                Some((_, r)) => (r.summary(), format!("{} ms", r.latency_ms)),
                None if e.probe.is_some() => ("no result yet".to_string(), String::new()),
                None => ("not probed".to_string(), String::new()),
            };
            if let Some(o) = &e.forced {
                forced.push(override_line(
                    &p.name,
                    &e.name,
                    o.state.as_str(),
                    &o.reason,
                    o.expires_at.map(|t| t.to_string()).as_deref(),
                ));
            }
            rows.push(Row {
                profile: p.name.clone(),
                profile_status: profile_label(p.monitor_status.as_str(), p.fail_open, p.all_down),
                endpoint: e.name.clone(),
                endpoint_status: forced_label(e.monitor_status.as_str(), e.forced.is_some()),
                last_probe,
                latency,
                nodes: nodes_label(
                    e.nodes
                        .iter()
                        .map(|n| (n.node.as_str(), n.observation.status.as_str())),
                ),
            });
        }
    }
    println!("{}{}", table(&rows), overrides_section(&forced));
    let recent: Vec<&Event> = doc.events.iter().rev().take(10).collect();
    if !recent.is_empty() {
        println!("\nrecent events (newest first):");
        for e in recent {
            let ago = signpost_health::now_ms().saturating_sub(e.time_ms) / 1000;
            println!(
                "  {ago:>6} s ago  {}/{}: {} -> {} ({})",
                e.profile, e.endpoint, e.from, e.to, e.reason
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forced_endpoints_are_marked_unless_switched_off() {
        assert_eq!(forced_label("Degraded", true), "Degraded (forced)");
        assert_eq!(forced_label("Online", false), "Online");
        assert_eq!(forced_label("Disabled", true), "Disabled");
        assert_eq!(
            override_line("web", "a", "Degraded", "why", None),
            "  web/a: forced Degraded until cleared: why"
        );
        assert_eq!(overrides_section(&[]), "");
    }
}
