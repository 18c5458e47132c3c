//! ARM's paths as the Azure SDK sends them, matched case-insensitively (ARM's own rule: the SDK
//! spells `trafficmanagerprofiles` and `ExternalEndpoints`, the REST reference
//! `trafficManagerProfiles` and `externalEndpoints`). Names are percent-decoded and keep their
//! spelling; only the literal segments are compared without case.

use percent_encoding::percent_decode_str;

/// A subscription and resource group named by a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Group {
    /// The subscription id, as the path spells it.
    pub subscription: String,
    /// The resource group, as the path spells it.
    pub resource_group: String,
}

/// The ARM resources Signpost serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ArmPath {
    /// `RG/trafficmanagerprofiles/{name}`.
    Profile { group: Group, name: String },
    /// `RG/trafficmanagerprofiles`.
    ProfilesInGroup { group: Group },
    /// `/subscriptions/{s}/providers/Microsoft.Network/trafficmanagerprofiles`.
    ProfilesInSubscription { subscription: String },
    /// `RG/trafficmanagerprofiles/{name}/{endpointType}/{endpointName}`.
    Endpoint {
        group: Group,
        name: String,
        kind: String,
        endpoint: String,
    },
    /// `RG/trafficmanagerprofiles/{name}/heatMaps/{heatMapType}`.
    HeatMap {
        group: Group,
        name: String,
        heat_map_type: String,
    },
    /// `/providers/Microsoft.Network/checkTrafficManagerNameAvailability`.
    NameAvailability,
    /// `/subscriptions/{s}/providers/Microsoft.Network/checkTrafficManagerNameAvailabilityV2`.
    NameAvailabilityV2,
    /// `/providers/Microsoft.Network/trafficManagerGeographicHierarchies/default`.
    GeographicHierarchy,
    /// `/subscriptions/{s}/providers/Microsoft.Network/trafficManagerUserMetricsKeys/default`.
    UserMetricsKey { subscription: String },
}

impl ArmPath {
    /// The route's pattern, as the OpenAPI document spells it (the `route` label of
    /// `signpost_api_requests_total`).
    pub(crate) fn pattern(&self) -> &'static str {
        match self {
            Self::Profile { .. } => {
                "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Network/trafficmanagerprofiles/{profileName}"
            }
            Self::ProfilesInGroup { .. } => {
                "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Network/trafficmanagerprofiles"
            }
            Self::ProfilesInSubscription { .. } => {
                "/subscriptions/{subscriptionId}/providers/Microsoft.Network/trafficmanagerprofiles"
            }
            Self::Endpoint { .. } => {
                "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Network/trafficmanagerprofiles/{profileName}/{endpointType}/{endpointName}"
            }
            Self::HeatMap { .. } => {
                "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Network/trafficmanagerprofiles/{profileName}/heatMaps/{heatMapType}"
            }
            Self::NameAvailability => {
                "/providers/Microsoft.Network/checkTrafficManagerNameAvailability"
            }
            Self::NameAvailabilityV2 => {
                "/subscriptions/{subscriptionId}/providers/Microsoft.Network/checkTrafficManagerNameAvailabilityV2"
            }
            Self::GeographicHierarchy => {
                "/providers/Microsoft.Network/trafficManagerGeographicHierarchies/default"
            }
            Self::UserMetricsKey { .. } => {
                "/subscriptions/{subscriptionId}/providers/Microsoft.Network/trafficManagerUserMetricsKeys/default"
            }
        }
    }
}

/// Whether `path` is on ARM's surface (`/subscriptions/...` or `/providers/...`, any case): the
/// auth middleware answers these with ARM's error codes.
pub(crate) fn is_arm(path: &str) -> bool {
    let first = path.trim_start_matches('/').split('/').next().unwrap_or("");
    first.eq_ignore_ascii_case("subscriptions") || first.eq_ignore_ascii_case("providers")
}

/// The resource `path` names, or `None` when it names none Signpost serves.
pub(crate) fn parse(path: &str) -> Option<ArmPath> {
    let raw: Vec<&str> = path.trim_matches('/').split('/').collect();
    if raw.iter().any(|s| s.is_empty()) {
        return None;
    }
    let seg: Vec<String> = raw
        .iter()
        .map(|s| percent_decode_str(s).decode_utf8_lossy().into_owned())
        .collect();
    let lower: Vec<String> = seg.iter().map(|s| s.to_ascii_lowercase()).collect();
    let l: Vec<&str> = lower.iter().map(String::as_str).collect();
    let group = || Group {
        subscription: seg[1].clone(),
        resource_group: seg[3].clone(),
    };
    const TM: &str = "trafficmanagerprofiles";
    const NET: &str = "microsoft.network";
    Some(match l.as_slice() {
        ["providers", NET, "checktrafficmanagernameavailability"] => ArmPath::NameAvailability,
        [
            "providers",
            NET,
            "trafficmanagergeographichierarchies",
            "default",
        ] => ArmPath::GeographicHierarchy,
        [
            "subscriptions",
            _,
            "providers",
            NET,
            "checktrafficmanagernameavailabilityv2",
        ] => ArmPath::NameAvailabilityV2,
        [
            "subscriptions",
            _,
            "providers",
            NET,
            "trafficmanagerusermetricskeys",
            "default",
        ] => ArmPath::UserMetricsKey {
            subscription: seg[1].clone(),
        },
        ["subscriptions", _, "providers", NET, TM] => ArmPath::ProfilesInSubscription {
            subscription: seg[1].clone(),
        },
        [
            "subscriptions",
            _,
            "resourcegroups",
            _,
            "providers",
            NET,
            TM,
        ] => ArmPath::ProfilesInGroup { group: group() },
        [
            "subscriptions",
            _,
            "resourcegroups",
            _,
            "providers",
            NET,
            TM,
            _,
        ] => ArmPath::Profile {
            group: group(),
            name: seg[7].clone(),
        },
        [
            "subscriptions",
            _,
            "resourcegroups",
            _,
            "providers",
            NET,
            TM,
            _,
            "heatmaps",
            _,
        ] => ArmPath::HeatMap {
            group: group(),
            name: seg[7].clone(),
            heat_map_type: seg[9].clone(),
        },
        [
            "subscriptions",
            _,
            "resourcegroups",
            _,
            "providers",
            NET,
            TM,
            _,
            _,
            _,
        ] => ArmPath::Endpoint {
            group: group(),
            name: seg[7].clone(),
            kind: seg[8].clone(),
            endpoint: seg[9].clone(),
        },
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The SDK's spellings and the REST reference's both match; names keep their case and are
    /// percent-decoded.
    #[test]
    fn paths_match_without_case() {
        let p = parse(
            "/subscriptions/S1/resourceGroups/Rg-1/providers/Microsoft.Network/trafficmanagerprofiles/Web%20One/ExternalEndpoints/eu",
        );
        assert_eq!(
            p,
            Some(ArmPath::Endpoint {
                group: Group {
                    subscription: "S1".into(),
                    resource_group: "Rg-1".into()
                },
                name: "Web One".into(),
                kind: "ExternalEndpoints".into(),
                endpoint: "eu".into(),
            })
        );
        assert_eq!(
            parse("/PROVIDERS/microsoft.network/CHECKTRAFFICMANAGERNAMEAVAILABILITY"),
            Some(ArmPath::NameAvailability)
        );
        assert!(matches!(
            parse(
                "/subscriptions/s/resourcegroups/g/providers/Microsoft.Network/trafficManagerProfiles/p/heatMaps/default"
            ),
            Some(ArmPath::HeatMap { .. })
        ));
        assert_eq!(
            parse("/subscriptions/s/providers/Microsoft.Compute/x"),
            None
        );
        assert_eq!(parse("/subscriptions//resourceGroups"), None);
        assert!(is_arm("/Subscriptions/x") && is_arm("/providers") && !is_arm("/api/v1"));
    }
}
