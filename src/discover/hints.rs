//! Vendor hints: interception products that publish their CA at a well-known address or leave it
//! in a known file. Tried last, and only when the issuer names that vendor; whatever they yield
//! must still verify as the issuer, so a wrong hint costs time, never trust.

/// Where a vendor's CA can be read.
#[derive(Debug, Clone, Copy)]
pub enum HintSource {
    /// Fetched through the same proxy (the product answers it itself).
    Url(&'static str),
    /// Files the vendor's agent leaves on the machine.
    Files(AgentFiles),
}

/// Where an agent keeps its CA, per OS. Only the running OS's list is ever read: on Unix a
/// `C:\ProgramData\...` name is a relative path, i.e. a file in whatever directory the (possibly
/// privileged) run was started from, which anybody could have put there.
#[derive(Debug, Clone, Copy)]
pub struct AgentFiles {
    pub macos: &'static [&'static str],
    pub windows: &'static [&'static str],
    pub linux: &'static [&'static str],
}

impl AgentFiles {
    /// The paths for the OS this binary was built for.
    pub fn on_this_os(&self) -> &'static [&'static str] {
        if cfg!(target_os = "macos") {
            self.macos
        } else if cfg!(windows) {
            self.windows
        } else if cfg!(target_os = "linux") {
            self.linux
        } else {
            &[]
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct VendorHint {
    pub vendor: &'static str,
    /// Case-insensitive substrings of the issuer name that identify the vendor.
    pub issuer_markers: &'static [&'static str],
    pub source: HintSource,
}

/// Sources: docs in ../shared/reference/trust-facts.md (mitmproxy, Netskope, Cloudflare WARP).
pub const HINTS: &[VendorHint] = &[
    VendorHint {
        vendor: "mitmproxy",
        issuer_markers: &["o=mitmproxy", "cn=mitmproxy"],
        source: HintSource::Url("http://mitm.it/cert/pem"),
    },
    VendorHint {
        vendor: "Netskope",
        issuer_markers: &["netskope"],
        source: HintSource::Files(AgentFiles {
            macos: &[
                "/Library/Application Support/Netskope/STAgent/data/nscacert.pem",
                "/Library/Application Support/Netskope/STAgent/data/nscacert_combined.pem",
            ],
            windows: &[
                "C:\\ProgramData\\Netskope\\STAgent\\data\\nscacert.pem",
                "C:\\ProgramData\\Netskope\\STAgent\\data\\nscacert_combined.pem",
            ],
            linux: &[],
        }),
    },
    VendorHint {
        vendor: "Cloudflare WARP",
        issuer_markers: &["cloudflare"],
        source: HintSource::Files(AgentFiles {
            macos: &["/Library/Application Support/Cloudflare/installed_cert.pem"],
            windows: &["C:\\ProgramData\\Cloudflare\\installed_cert.pem"],
            linux: &["/var/lib/cloudflare-warp/installed_cert.pem"],
        }),
    },
];

/// The hints whose vendor the issuer name points at.
pub fn hints_for(issuer: &str) -> impl Iterator<Item = &'static VendorHint> + '_ {
    let issuer = issuer.to_ascii_lowercase().replace(" = ", "=");
    HINTS
        .iter()
        .filter(move |h| h.issuer_markers.iter().any(|m| issuer.contains(m)))
}

/// A vendor recognised from the issuer, for advice when nothing was found.
pub fn known_vendor(issuer: &str) -> Option<&'static str> {
    let lower = issuer.to_ascii_lowercase();
    const NAMES: &[(&str, &str)] = &[
        ("zscaler", "Zscaler"),
        ("netskope", "Netskope"),
        ("palo alto", "Palo Alto Networks"),
        ("fortinet", "Fortinet"),
        ("fortigate", "Fortinet"),
        ("cloudflare", "Cloudflare"),
        ("mitmproxy", "mitmproxy"),
        ("squid", "Squid"),
        ("forcepoint", "Forcepoint"),
        ("sophos", "Sophos"),
        ("cisco umbrella", "Cisco Umbrella"),
        ("blue coat", "Symantec/Blue Coat"),
        ("check point", "Check Point"),
    ];
    NAMES
        .iter()
        .find(|(marker, _)| lower.contains(marker))
        .map(|(_, name)| *name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_vendor_by_issuer() {
        let v: Vec<_> = hints_for("CN=mitmproxy, O=mitmproxy")
            .map(|h| h.vendor)
            .collect();
        assert_eq!(v, ["mitmproxy"]);
        assert_eq!(hints_for("CN=caNetskope Root, O=Netskope Inc").count(), 1);
        assert_eq!(hints_for("CN=Corp Root, O=Example").count(), 0);
        assert_eq!(
            known_vendor("CN=Zscaler Intermediate Root CA"),
            Some("Zscaler")
        );
    }

    /// A name that is not absolute here would be looked up in the current directory.
    #[test]
    fn only_absolute_paths_of_this_os_are_read() {
        for hint in HINTS {
            if let HintSource::Files(files) = hint.source {
                for path in files.on_this_os() {
                    assert!(
                        std::path::Path::new(path).is_absolute(),
                        "{}: {path} is not absolute on this OS",
                        hint.vendor
                    );
                }
            }
        }
    }

    #[test]
    fn every_os_list_names_paths_of_that_os() {
        for hint in HINTS {
            if let HintSource::Files(files) = hint.source {
                for path in files.macos.iter().chain(files.linux) {
                    assert!(path.starts_with('/'), "{path}");
                }
                for path in files.windows {
                    assert!(path.get(1..3) == Some(":\\"), "{path}");
                }
            }
        }
    }
}
