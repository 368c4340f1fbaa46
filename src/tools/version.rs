//! Versions as tools print them (`pip 26.3 from ... (python 3.11)`, `v20.20.2`, `git version
//! 2.47.3.windows.1`), compared numerically.

use serde::{Serialize, Serializer};
use std::fmt;

/// major.minor.patch; a missing part is 0 (`1.22` is 1.22.0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

impl Version {
    pub const fn new(major: u32, minor: u32, patch: u32) -> Version {
        Version {
            major,
            minor,
            patch,
        }
    }

    /// The first `N.N[.N]` in `text` (a `v` before it is allowed), so `pip 26.3 from` gives 26.3.0
    /// and `v20.20.2` gives 20.20.2. A lone number (`1`) is not taken: it is too often something
    /// else (a build number, a year).
    pub fn find_in(text: &str) -> Option<Version> {
        text.split(|c: char| !(c.is_ascii_digit() || c == '.'))
            .find_map(Version::parse_dotted)
    }

    /// The first `N.N[.N]` after `marker` in `text`: `find_after("... (python 3.11)", "python ")`.
    pub fn find_after(text: &str, marker: &str) -> Option<Version> {
        let start = text.find(marker)?.checked_add(marker.len())?;
        Version::find_in(text.get(start..)?)
    }

    fn parse_dotted(word: &str) -> Option<Version> {
        let mut parts = word.split('.').filter(|p| !p.is_empty());
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?.parse().ok()?;
        let patch = match parts.next() {
            Some(p) => p.parse().ok()?,
            None => 0,
        };
        Some(Version::new(major, minor, patch))
    }

    pub fn at_least(self, major: u32, minor: u32, patch: u32) -> bool {
        self >= Version::new(major, minor, patch)
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

impl Serialize for Version {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_as_tools_print_them() {
        let cases = [
            (
                "pip 26.3 from /x/site-packages/pip (python 3.11)",
                Some(Version::new(26, 3, 0)),
            ),
            ("v20.20.2", Some(Version::new(20, 20, 2))),
            ("git version 2.47.3.windows.1", Some(Version::new(2, 47, 3))),
            ("uv 0.13.8 (abc 2026-11-01)", Some(Version::new(0, 13, 8))),
            (
                "cargo 1.95.0 (f2d3ce0bd 2026-03-21)",
                Some(Version::new(1, 95, 0)),
            ),
            (
                "curl 7.88.1 (x86_64-pc-linux-gnu)",
                Some(Version::new(7, 88, 1)),
            ),
            ("build 1", None),
            ("", None),
            ("99999999999.1", None),
        ];
        for (text, want) in cases {
            assert_eq!(Version::find_in(text), want, "{text}");
        }
        assert_eq!(
            Version::find_after("pip 26.3 from /p (python 3.13)", "python "),
            Some(Version::new(3, 13, 0))
        );
        assert!(Version::new(24, 2, 0).at_least(24, 2, 0));
        assert!(!Version::new(24, 1, 9).at_least(24, 2, 0));
    }
}
