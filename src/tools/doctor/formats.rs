//! The small config syntaxes doctor reads, each as the tool itself reads it, as far as the keys
//! doctor looks for go: `key = value` files with sections (pip's configparser, npm's ini, the AWS
//! CLI, gcloud), yarn 1's `key value`, the scalar keys of YAML files (`.condarc`, `.yarnrc.yml`),
//! curl's and wget's rc files. TOML goes through the `toml` crate in `files`.
//!
//! Only scalar `key: value` lines are read from YAML: the keys doctor looks for are scalars, and a
//! full YAML parser would bring a large dependency for them.

/// One setting as written, with the line to quote in a fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// `[section]` it sits in (empty before any); YAML: the parent keys joined with `.`.
    pub section: String,
    /// As the tool compares it (lower case, `_` as `-` where the tool does that).
    pub key: String,
    pub value: String,
    /// 1-based line where the key is.
    pub line: usize,
    /// That line as written.
    pub text: String,
}

/// configparser as pip, the AWS CLI and gcloud use it: `key = value` or `key: value`, `#` and `;`
/// comment lines, no inline comments, indented lines continue the previous value (pip's
/// `trusted-host` is often a list over several lines). Keys lower-cased, `_` as `-` (pip does).
pub fn configparser(text: &str) -> Vec<Entry> {
    let mut out: Vec<Entry> = Vec::new();
    let mut section = String::new();
    let mut continuing = false;
    for (index, raw) in text.lines().enumerate() {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            continuing = false;
            continue;
        }
        if trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        let indented = raw.starts_with(' ') || raw.starts_with('\t');
        if indented && continuing {
            if let Some(last) = out.last_mut() {
                if !last.value.is_empty() {
                    last.value.push('\n');
                }
                last.value.push_str(trimmed);
                continue;
            }
        }
        if let Some(name) = trimmed
            .strip_prefix('[')
            .and_then(|rest| rest.strip_suffix(']'))
        {
            section = name.trim().to_string();
            continuing = false;
            continue;
        }
        let Some(split) = trimmed.find(['=', ':']) else {
            continuing = false;
            continue;
        };
        let (key, value) = (trimmed.get(..split), trimmed.get(split.saturating_add(1)..));
        let (Some(key), Some(value)) = (key, value) else {
            continue;
        };
        out.push(Entry {
            section: section.clone(),
            key: normalize_key(key),
            value: value.trim().to_string(),
            line: index.saturating_add(1),
            text: raw.to_string(),
        });
        continuing = true;
    }
    out
}

/// npm's `.npmrc` (the `ini` package): `key=value`, `;`/`#` comment lines and unquoted inline
/// comments, a key alone means `true`, values may be quoted.
pub fn npmrc(text: &str) -> Vec<Entry> {
    let mut out = Vec::new();
    let mut section = String::new();
    for (index, raw) in text.lines().enumerate() {
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        if let Some(name) = trimmed
            .strip_prefix('[')
            .and_then(|rest| rest.strip_suffix(']'))
        {
            section = name.trim().to_string();
            continue;
        }
        let (key, value) = match trimmed.split_once('=') {
            Some((k, v)) => (k, unquote(strip_inline_comment(v.trim()))),
            None => (trimmed, "true".to_string()),
        };
        out.push(Entry {
            section: section.clone(),
            key: normalize_key(key),
            value,
            line: index.saturating_add(1),
            text: raw.to_string(),
        });
    }
    out
}

/// yarn 1's `.yarnrc`: `key value` or `key "value"`, `#` comments, `--` prefixes allowed.
pub fn yarnrc_classic(text: &str) -> Vec<Entry> {
    let mut out = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let (key, value) = match trimmed.split_once(char::is_whitespace) {
            Some((k, v)) => (k, unquote(v.trim())),
            None => (trimmed, "true".to_string()),
        };
        out.push(Entry {
            section: String::new(),
            key: normalize_key(unquote(key).trim_start_matches("--")),
            value,
            line: index.saturating_add(1),
            text: raw.to_string(),
        });
    }
    out
}

/// The scalar `key: value` lines of a YAML file, each with its parent keys (by indentation) in
/// `section`. Keys keep their case (YAML keys are case-sensitive).
pub fn yaml_scalars(text: &str) -> Vec<Entry> {
    let mut out = Vec::new();
    // (indent, key) of the mappings the current line is nested in.
    let mut parents: Vec<(usize, String)> = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let content = strip_yaml_comment(raw);
        let trimmed = content.trim();
        if trimmed.is_empty() || trimmed == "---" || trimmed.starts_with('-') {
            continue;
        }
        let indent = content.len().saturating_sub(content.trim_start().len());
        let Some((key, value)) = split_yaml_key(trimmed) else {
            continue;
        };
        while parents.last().is_some_and(|(i, _)| *i >= indent) {
            parents.pop();
        }
        let value = value.trim();
        if value.is_empty() {
            parents.push((indent, key));
            continue;
        }
        out.push(Entry {
            section: parents
                .iter()
                .map(|(_, k)| k.as_str())
                .collect::<Vec<_>>()
                .join("."),
            key,
            value: unquote(value),
            line: index.saturating_add(1),
            text: raw.to_string(),
        });
    }
    out
}

/// `key: rest` with the key unquoted; `None` for a line that is not a mapping entry.
fn split_yaml_key(line: &str) -> Option<(String, &str)> {
    if let Some(quote) = line.chars().next().filter(|c| *c == '"' || *c == '\'') {
        let rest = line.get(1..)?;
        let end = rest.find(quote)?;
        let key = rest.get(..end)?.to_string();
        let after = rest.get(end.saturating_add(1)..)?.trim_start();
        let value = after.strip_prefix(':')?;
        return Some((key, value));
    }
    let colon = line
        .find(": ")
        .or_else(|| line.strip_suffix(':').map(|k| k.len()))?;
    let key = line.get(..colon)?.trim().to_string();
    let value = line.get(colon.saturating_add(1)..).unwrap_or("");
    Some((key, value))
}

/// A YAML line without its comment: `#` at the start or after a space, outside quotes.
fn strip_yaml_comment(line: &str) -> &str {
    let mut quote: Option<char> = None;
    let mut previous = ' ';
    for (i, c) in line.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '"' || c == '\'' => quote = Some(c),
            None if c == '#' && previous.is_whitespace() => return line.get(..i).unwrap_or(line),
            None => {}
        }
        previous = c;
    }
    line
}

/// curl's config file: one option per line, with or without leading dashes, the value after
/// whitespace, `=` or `:`; `#` comments. Short options (`-k`) are kept with their dash.
pub fn curlrc(text: &str) -> Vec<Entry> {
    let mut out = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let end = trimmed
            .find(|c: char| c.is_whitespace() || c == '=' || c == ':')
            .unwrap_or(trimmed.len());
        let (name, rest) = trimmed.split_at(end);
        let value = rest
            .trim_start()
            .trim_start_matches(['=', ':'])
            .trim_start();
        let key = if let Some(long) = name.strip_prefix("--") {
            long.to_ascii_lowercase()
        } else if name.starts_with('-') {
            name.to_string()
        } else {
            name.to_ascii_lowercase()
        };
        out.push(Entry {
            section: String::new(),
            key,
            value: unquote(value),
            line: index.saturating_add(1),
            text: raw.to_string(),
        });
    }
    out
}

/// Whether curl short options clustered in `option` (`-k`, `-sSk`) include `-k`. Only letters
/// that take no argument may precede it, or the `k` would be that option's value.
pub fn curl_short_insecure(option: &str) -> bool {
    const NO_ARGUMENT: &str = "0123469aBfgGIijJlLnNOpqRsSvZk";
    match option.strip_prefix('-') {
        Some(letters) if !letters.starts_with('-') && !letters.is_empty() => {
            letters.contains('k') && letters.chars().all(|c| NO_ARGUMENT.contains(c))
        }
        _ => false,
    }
}

/// wget's `.wgetrc`: `command = value`, commands compared without case, `_` or `-`.
pub fn wgetrc(text: &str) -> Vec<Entry> {
    let mut out = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let Some((key, value)) = trimmed.split_once('=') else {
            continue;
        };
        out.push(Entry {
            section: String::new(),
            key: key
                .trim()
                .chars()
                .filter(|c| *c != '_' && *c != '-')
                .collect::<String>()
                .to_ascii_lowercase(),
            value: value.trim().to_string(),
            line: index.saturating_add(1),
            text: raw.to_string(),
        });
    }
    out
}

fn normalize_key(key: &str) -> String {
    key.trim().to_ascii_lowercase().replace('_', "-")
}

/// Strips one pair of matching surrounding quotes.
pub fn unquote(value: &str) -> String {
    let v = value.trim();
    for q in ['"', '\''] {
        if let Some(inner) = v.strip_prefix(q).and_then(|r| r.strip_suffix(q)) {
            return inner.to_string();
        }
    }
    v.to_string()
}

/// An ini value without an unquoted `;` or `#` comment after it.
fn strip_inline_comment(value: &str) -> &str {
    if value.starts_with('"') || value.starts_with('\'') {
        return value;
    }
    match value.find([';', '#']) {
        Some(i) => value.get(..i).unwrap_or(value).trim_end(),
        None => value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configparser_continuations_sections_and_comments() {
        let text =
            "[global]\ntrusted_host = a.example\n    b.example\n# x = y\n[install]\ncert: /c.pem\n";
        let e = configparser(text);
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].key, "trusted-host");
        assert_eq!(e[0].value, "a.example\nb.example");
        assert_eq!(e[0].line, 2);
        assert_eq!(
            (e[1].section.as_str(), e[1].key.as_str()),
            ("install", "cert")
        );
        assert_eq!(e[1].value, "/c.pem");
    }

    #[test]
    fn npmrc_inline_comments_and_bare_keys() {
        let e = npmrc("strict-ssl=false ; why not\n;cafile=/x\nalways-auth\ncafile=\"/a;b\"\n");
        let pairs: Vec<_> = e
            .iter()
            .map(|e| (e.key.as_str(), e.value.as_str()))
            .collect();
        assert_eq!(
            pairs,
            vec![
                ("strict-ssl", "false"),
                ("always-auth", "true"),
                ("cafile", "/a;b")
            ]
        );
    }

    #[test]
    fn yaml_scalars_with_parents() {
        let text = "ssl_verify: false # old\nnetworkSettings:\n  \"*.corp\":\n    enableStrictSsl: false\nhttpsCaFilePath: '/b.pem'\n";
        let e = yaml_scalars(text);
        let got: Vec<_> = e
            .iter()
            .map(|e| (e.section.as_str(), e.key.as_str(), e.value.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("", "ssl_verify", "false"),
                ("networkSettings.*.corp", "enableStrictSsl", "false"),
                ("", "httpsCaFilePath", "/b.pem"),
            ]
        );
    }

    #[test]
    fn curl_options_every_way_they_are_written() {
        let e = curlrc("insecure\n--insecure\n-k\ncacert = \"/a b.pem\"\n--cacert /c.pem\n");
        let keys: Vec<_> = e.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, vec!["insecure", "insecure", "-k", "cacert", "cacert"]);
        assert_eq!(e[3].value, "/a b.pem");
        assert_eq!(e[4].value, "/c.pem");
        assert!(curl_short_insecure("-k"));
        assert!(curl_short_insecure("-sSk"));
        assert!(!curl_short_insecure("-ok"));
        assert!(!curl_short_insecure("--k"));
    }

    #[test]
    fn wget_commands_ignore_case_and_separators() {
        let e = wgetrc("Check-Certificate = off\n# check_certificate = off\ncheck_certificate=0\n");
        let got: Vec<_> = e
            .iter()
            .map(|e| (e.key.as_str(), e.value.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![("checkcertificate", "off"), ("checkcertificate", "0")]
        );
    }
}
