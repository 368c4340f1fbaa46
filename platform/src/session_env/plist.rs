//! The LaunchAgent property list that re-applies the variables at every macOS login.
//!
//! Pure text in and out, compiled on every OS so the escaping is tested where CI runs. We write
//! the XML ourselves (no plist crate) and read back only what we wrote: the file format is ours.

use std::collections::BTreeMap;

use crate::StoreError;

/// launchd's job label; the plist is named after it, as launchd expects.
pub const LABEL: &str = "dev.trust-proxy.env";

/// Runs `launchctl setenv` once per pair. The pairs follow as separate arguments (`$1 $2`, ...)
/// rather than being spliced into the script, so no value is ever parsed by the shell; one
/// launchctl call per pair because `setenv` documents a single key and value.
const SCRIPT: &str = "s=0; while [ \"$#\" -ge 2 ]; do /bin/launchctl setenv \"$1\" \"$2\" || s=1; \
                      shift 2; done; exit \"$s\"";
/// `$0` of the script: what `ps` shows while it runs.
const ARG0: &str = "trust-proxy-env";
const PREFIX: [&str; 4] = ["/bin/sh", "-c", SCRIPT, ARG0];

/// The whole plist for `vars`, in name order so equal maps give equal bytes (the caller skips
/// the write when nothing changed).
pub fn render(vars: &BTreeMap<String, String>) -> Result<String, StoreError> {
    let mut args = String::new();
    let pairs = vars.iter().flat_map(|(n, v)| [n.as_str(), v.as_str()]);
    for arg in PREFIX.into_iter().chain(pairs) {
        args.push_str("\t\t<string>");
        args.push_str(&escape(arg)?);
        args.push_str("</string>\n");
    }
    Ok(format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" \
         \"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n\
         <plist version=\"1.0\">\n<dict>\n\
         \t<key>Label</key>\n\t<string>{LABEL}</string>\n\
         \t<key>ProgramArguments</key>\n\t<array>\n{args}\t</array>\n\
         \t<key>RunAtLoad</key>\n\t<true/>\n\
         </dict>\n</plist>\n"
    ))
}

/// The variables in a plist that [`render`] wrote; anything else is refused so that we never
/// rewrite or delete a file someone else put under our label.
pub fn parse(xml: &str) -> Result<BTreeMap<String, String>, StoreError> {
    let foreign = |why: &str| StoreError::Platform {
        what: format!("LaunchAgent {LABEL}.plist"),
        message: format!("not in the form trust-proxy writes ({why}); move it away first"),
    };
    let body = between(xml, "<array>", "</array>").ok_or_else(|| foreign("no array"))?;
    let mut args = Vec::new();
    let mut rest = body;
    while let Some(start) = rest.find("<string>") {
        let after = &rest[start + "<string>".len()..];
        let end = after
            .find("</string>")
            .ok_or_else(|| foreign("unclosed string"))?;
        args.push(unescape(&after[..end]).ok_or_else(|| foreign("bad entity"))?);
        rest = &after[end + "</string>".len()..];
    }
    if args.len() < PREFIX.len() || args[..PREFIX.len()] != PREFIX {
        return Err(foreign("different program"));
    }
    let pairs = &args[PREFIX.len()..];
    if pairs.len() % 2 != 0 {
        return Err(foreign("odd number of arguments"));
    }
    Ok(pairs
        .chunks_exact(2)
        .map(|p| (p[0].clone(), p[1].clone()))
        .collect())
}

/// XML text escaping. CR becomes a character reference because XML parsers turn a literal CR
/// into LF; characters XML 1.0 cannot carry at all (NUL, other C0 controls, U+FFFE/U+FFFF) are
/// an error rather than silently dropped.
pub fn escape(text: &str) -> Result<String, StoreError> {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#13;"),
            '\t' | '\n' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {
                return Err(StoreError::Platform {
                    what: "LaunchAgent plist".into(),
                    message: format!("character U+{:04X} cannot be stored in XML", c as u32),
                })
            }
            c => out.push(c),
        }
    }
    Ok(out)
}

fn unescape(text: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let semi = rest[amp..].find(';')? + amp;
        let entity = &rest[amp + 1..semi];
        let c = match entity {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            "apos" => '\'',
            _ => {
                let code = match entity.strip_prefix("#x") {
                    Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                    None => entity.strip_prefix('#')?.parse().ok()?,
                };
                char::from_u32(code)?
            }
        };
        out.push(c);
        rest = &rest[semi + 1..];
    }
    out.push_str(rest);
    Some(out)
}

fn between<'a>(text: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let start = text.find(open)? + open.len();
    let end = text[start..].find(close)? + start;
    Some(&text[start..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn escapes_markup_and_carriage_return() {
        assert_eq!(
            escape(r#"a&b<c>d"e'f"#).ok().as_deref(),
            Some("a&amp;b&lt;c&gt;d&quot;e&apos;f")
        );
        assert_eq!(escape("x\r\ny\tz").ok().as_deref(), Some("x&#13;\ny\tz"));
        assert_eq!(escape("100% ü €").ok().as_deref(), Some("100% ü €"));
        assert!(escape("a\u{1}b").is_err());
        assert!(escape("a\u{FFFF}").is_err());
    }

    #[test]
    fn renders_and_reads_back() {
        let vars = map(&[
            (
                "SSL_CERT_FILE",
                "/Users/a b/Library/Application Support/trust-proxy/ca.pem",
            ),
            ("HTTPS_PROXY", "http://proxy:8080/?a=1&b=<2>"),
            ("ODD", "it's \"quoted\"\r\n%PATH% $HOME `x` </string>"),
        ]);
        let xml = match render(&vars) {
            Ok(x) => x,
            Err(e) => panic!("render: {e}"),
        };
        assert!(xml.contains("<string>dev.trust-proxy.env</string>"));
        assert!(xml.contains("<true/>"));
        assert!(xml.contains("http://proxy:8080/?a=1&amp;b=&lt;2&gt;"));
        // Values are arguments after the script, never part of it.
        assert!(xml.contains("\t\t<string>HTTPS_PROXY</string>\n"));
        assert_eq!(xml.matches("/bin/launchctl setenv").count(), 1);
        assert_eq!(parse(&xml).ok(), Some(vars.clone()));
        // Deterministic: the same map gives the same bytes.
        assert_eq!(render(&vars).ok(), Some(xml));
    }

    #[test]
    fn empty_map_is_a_valid_plist() {
        let xml = render(&BTreeMap::new()).unwrap_or_default();
        assert_eq!(parse(&xml).ok(), Some(BTreeMap::new()));
    }

    #[test]
    fn foreign_plists_are_refused() {
        let other = "<plist><dict><key>ProgramArguments</key><array>\
                     <string>/usr/bin/evil</string></array></dict></plist>";
        assert!(parse(other).is_err());
        assert!(parse("not xml").is_err());
        let xml = render(&map(&[("A", "1")])).unwrap_or_default();
        let odd = xml.replace("<string>1</string>\n", "");
        assert!(parse(&odd).is_err());
        assert!(parse(&xml.replace("&quot;", "&bogus;")).is_err());
    }
}
