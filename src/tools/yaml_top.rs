//! One top-level `key: scalar` of a YAML block mapping (`.condarc`'s `ssl_verify`, `.yarnrc.yml`'s
//! `caFilePath` / `httpsCaFilePath`), set line by line.
//!
//! Why not a YAML crate: the maintained Rust YAML crates (serde_yaml is archived; yaml-rust2,
//! saphyr) parse into a tree and write it back without the comments, key order and quoting the
//! person chose, and uninstall must put the file back byte for byte anyway. Both files are flat
//! mappings of scalars and lists in practice, and only one top-level key is ever written, so a
//! line-level edit that REFUSES every shape it does not fully understand is smaller and safer
//! than a round trip: tabs in indentation, several documents or directives, a top level that is
//! not a block mapping (a list, a flow `{...}`), quoted/complex/anchored keys, a duplicated target
//! key, or a target value that is a block scalar, a flow collection, an anchor/alias/tag, a
//! multi-line scalar or a nested block. Anything refused is `ToolError::Unparsable`: the file is
//! left alone and the person told why.

use super::lines::{lines, push_line, split_eol};
use super::ToolError;
use super::ToolId;
use std::path::Path;

/// The file's new text and the target key's value before (decoded; `None` when absent).
#[derive(Debug)]
pub(crate) struct YamlEdit {
    pub text: String,
    pub previous: Option<String>,
}

struct KeyLine<'a> {
    index: usize,
    key: &'a str,
    /// The line after the `:` (starts with a space, or is empty).
    rest: &'a str,
    /// Some non-comment line below belongs to this key (nested block or sequence).
    owns_content: bool,
}

/// Sets top-level `key` to the string `value` in `text`, appending `key: value` when absent.
pub(crate) fn set_top_level(
    tool: ToolId,
    path: &Path,
    text: &str,
    key: &str,
    value: &str,
    eol: &str,
) -> Result<YamlEdit, ToolError> {
    let all = lines(text);
    let keys = scan(tool, path, &all)?;
    let refuse = |why: String| ToolError::Unparsable {
        tool,
        path: path.to_path_buf(),
        message: why,
    };
    let mut targets = keys.iter().filter(|k| k.key == key);
    let target = targets.next();
    if targets.next().is_some() {
        return Err(refuse(format!("the top-level key {key} appears twice")));
    }
    let new_value = render(value);
    let Some(target) = target else {
        let mut out = text.to_string();
        push_line(&mut out, &format!("{key}: {new_value}"), eol);
        return Ok(YamlEdit {
            text: out,
            previous: None,
        });
    };
    if target.owns_content {
        return Err(refuse(format!(
            "{key} holds a nested block or list, not a single value"
        )));
    }
    let (previous, comment) = scalar(target.rest).map_err(|why| refuse(format!("{key}: {why}")))?;
    let mut out = String::with_capacity(text.len().saturating_add(value.len()));
    for (index, line) in all.iter().enumerate() {
        if index == target.index && previous.as_deref() != Some(value) {
            if index == 0 && line.starts_with('\u{feff}') {
                out.push('\u{feff}');
            }
            out.push_str(&format!("{key}: {new_value}{comment}"));
            out.push_str(split_eol(line).1);
        } else {
            out.push_str(line);
        }
    }
    Ok(YamlEdit {
        text: out,
        previous: Some(previous.unwrap_or_else(|| "null".to_string())),
    })
}

/// The decoded value of top-level `key`, when the file is one this module understands and the
/// key holds a single scalar.
pub(crate) fn top_level_value(text: &str, key: &str) -> Option<String> {
    let all = lines(text);
    let keys = scan(ToolId::Yarn, Path::new(""), &all).ok()?;
    let found = keys.iter().find(|k| k.key == key)?;
    if found.owns_content {
        return None;
    }
    scalar(found.rest).ok().and_then(|(value, _)| value)
}

/// Every top-level key line, after checking that every line is one this module understands.
fn scan<'a>(tool: ToolId, path: &Path, all: &[&'a str]) -> Result<Vec<KeyLine<'a>>, ToolError> {
    let refuse = |index: usize, why: &str| ToolError::Unparsable {
        tool,
        path: path.to_path_buf(),
        message: format!("line {}: {why}", index.saturating_add(1)),
    };
    let mut keys: Vec<KeyLine<'a>> = Vec::new();
    for (index, line) in all.iter().enumerate() {
        let mut body = split_eol(line).0;
        if index == 0 {
            body = body.strip_prefix('\u{feff}').unwrap_or(body);
        }
        let trimmed = body.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if body.starts_with('\t') {
            return Err(refuse(index, "indented with a tab"));
        }
        if body.starts_with(' ') || body == "-" || body.starts_with("- ") {
            // Belongs to the key above (a nested block, or a sequence written at column 0).
            match keys.last_mut() {
                Some(owner) => owner.owns_content = true,
                None => return Err(refuse(index, "content before any top-level key")),
            }
            continue;
        }
        if trimmed == "---" || body.starts_with("--- #") {
            if keys.is_empty() {
                continue;
            }
            return Err(refuse(index, "a second YAML document"));
        }
        if body.starts_with("...") {
            return Err(refuse(index, "a YAML document end marker"));
        }
        if body.starts_with([
            '-', '?', '[', '{', '&', '*', '!', '|', '>', '%', '@', '`', '"', '\'', ':', ',',
        ]) {
            return Err(refuse(
                index,
                "not a plain top-level key (a list, flow collection, directive, quoted, anchored \
                 or complex key)",
            ));
        }
        let (key, rest) = match body.split_once(": ") {
            Some((key, rest)) => (key, body.get(key.len().saturating_add(1)..).unwrap_or(rest)),
            None => match body.strip_suffix(':') {
                Some(key) => (key, ""),
                None => {
                    return Err(refuse(
                        index,
                        "neither a key, a comment nor an indented value",
                    ))
                }
            },
        };
        if key.contains(" #") || key.ends_with(' ') || key.contains('\t') {
            return Err(refuse(index, "a key this edit does not understand"));
        }
        // A value continued on the next lines could put a `key:`-looking line at column 0.
        if opens_over_lines(rest) {
            return Err(refuse(index, "a quoted or flow value over several lines"));
        }
        keys.push(KeyLine {
            index,
            key,
            rest,
            owns_content: false,
        });
    }
    Ok(keys)
}

/// Whether a value opens a quote or a flow collection it does not close on its line.
fn opens_over_lines(rest: &str) -> bool {
    let value = rest.trim_start();
    match value.chars().next() {
        Some('"' | '\'') => matches!(scalar(rest), Err(why) if why.contains("several lines")),
        Some('[' | '{') => {
            let depth = value.chars().fold(0i64, |depth, c| match c {
                '[' | '{' => depth.saturating_add(1),
                ']' | '}' => depth.saturating_sub(1),
                _ => depth,
            });
            depth > 0
        }
        _ => false,
    }
}

/// A single-line scalar after `key:`: its decoded value (`None` for an empty value, YAML null)
/// and its trailing comment with the blanks before it (kept as the person wrote it).
fn scalar(rest: &str) -> Result<(Option<String>, &str), String> {
    let value = rest.trim_start();
    if value.is_empty() {
        return Ok((None, ""));
    }
    if value.starts_with('#') {
        return Ok((None, rest));
    }
    let (decoded, after) = match value.chars().next() {
        Some('|' | '>') => return Err("a block scalar".to_string()),
        Some('&' | '*' | '!') => return Err("an anchor, alias or tag".to_string()),
        Some('[' | '{') => return Err("a flow collection".to_string()),
        Some('"') => double_quoted(value)?,
        Some('\'') => single_quoted(value)?,
        _ => {
            let end = comment_start(value).unwrap_or(value.len());
            let plain = value.get(..end).unwrap_or(value).trim_end();
            let after = value.get(plain.len()..).unwrap_or("");
            (plain.to_string(), after)
        }
    };
    let tail = after.trim();
    if !tail.is_empty() && !tail.starts_with('#') {
        return Err("text after a quoted value".to_string());
    }
    if !tail.is_empty() && comment_start(after).is_none() {
        return Err("a comment not separated by a blank".to_string());
    }
    Ok((Some(decoded), if tail.is_empty() { "" } else { after }))
}

/// Where a ` #` comment starts (the blank before `#`).
fn comment_start(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    (1..bytes.len()).find_map(|i| {
        let blank = bytes
            .get(i.checked_sub(1)?)
            .is_some_and(|b| *b == b' ' || *b == b'\t');
        (blank && bytes.get(i) == Some(&b'#')).then(|| i.saturating_sub(1))
    })
}

fn double_quoted(value: &str) -> Result<(String, &str), String> {
    let mut escaped = false;
    for (at, c) in value.char_indices().skip(1) {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == '"' {
            let end = at.saturating_add(1);
            let quoted = value.get(..end).unwrap_or(value);
            let after = value.get(end..).unwrap_or("");
            // YAML's double-quoted escapes are JSON's plus a few; one JSON does not know only
            // makes the value compare unequal, and it is then rewritten.
            let decoded =
                serde_json::from_str::<String>(quoted).unwrap_or_else(|_| quoted.to_string());
            return Ok((decoded, after));
        }
    }
    Err("a quoted value over several lines".to_string())
}

fn single_quoted(value: &str) -> Result<(String, &str), String> {
    let mut chars = value.char_indices().skip(1).peekable();
    let mut decoded = String::new();
    while let Some((at, c)) = chars.next() {
        if c != '\'' {
            decoded.push(c);
            continue;
        }
        if chars.peek().map(|(_, next)| *next) == Some('\'') {
            decoded.push('\'');
            chars.next();
            continue;
        }
        let after = value.get(at.saturating_add(1)..).unwrap_or("");
        return Ok((decoded, after));
    }
    Err("a quoted value over several lines".to_string())
}

/// A string as a YAML scalar: plain when nothing in it could read as something else, else
/// single-quoted (no escapes there but `''`, so every character the path check allows fits).
fn render(value: &str) -> String {
    let plain_chars = value
        .chars()
        .all(|c| c.is_alphanumeric() || "/._-\\+~@():".contains(c));
    let first_ok = !value.starts_with(['-', '?', ':', '@', '~', '.']);
    let special = matches!(
        value.to_ascii_lowercase().as_str(),
        "true" | "false" | "yes" | "no" | "on" | "off" | "null" | "y" | "n"
    ) || value.parse::<f64>().is_ok();
    if !value.is_empty() && plain_chars && first_ok && !special && !value.contains(": ") {
        value.to_string()
    } else {
        format!("'{}'", value.replace('\'', "''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(text: &str, value: &str) -> Result<String, ToolError> {
        set_top_level(
            ToolId::Conda,
            Path::new("/c"),
            text,
            "ssl_verify",
            value,
            "\n",
        )
        .map(|e| e.text)
    }

    #[test]
    fn rendered_scalars_read_back() {
        for value in [
            "truststore",
            "/etc/a b/bundle.pem",
            "C:\\ProgramData\\trust-proxy\\bundle.pem",
            "/it's.pem",
            "true",
            "-x.pem",
        ] {
            let (decoded, _) = scalar(&format!(" {}", render(value))).unwrap();
            assert_eq!(decoded.as_deref(), Some(value));
        }
        assert_eq!(render("truststore"), "truststore");
        assert_eq!(render("/a b.pem"), "'/a b.pem'");
    }

    #[test]
    fn keeps_comments_and_refuses_shapes_it_does_not_understand() {
        assert_eq!(
            set(
                "ssl_verify: false  # off\nchannels:\n- defaults\n",
                "truststore"
            )
            .unwrap(),
            "ssl_verify: truststore  # off\nchannels:\n- defaults\n"
        );
        assert_eq!(set("---\na: 1", "x").unwrap(), "---\na: 1\nssl_verify: x\n");
        assert_eq!(
            set("\u{feff}ssl_verify: true\r\n", "x").unwrap(),
            "\u{feff}ssl_verify: x\r\n"
        );
        assert_eq!(
            set("a: [1, 2]\nb: 'it''s'\n", "x").unwrap(),
            "a: [1, 2]\nb: 'it''s'\nssl_verify: x\n"
        );
        for bad in [
            "- a\n",
            "{a: 1}\n",
            "ssl_verify: |\n  x\n",
            "ssl_verify:\n  - a\n",
            "ssl_verify: \"a\n  b\"\n",
            "ssl_verify: a\n  b\n",
            "a: 1\n---\nb: 2\n",
            "a:\n\tb: 1\n",
            "ssl_verify: 1\nssl_verify: 2\n",
            "  a: 1\n",
            "ssl_verify: &x a\n",
            "just text\n",
            "a: \"x\nssl_verify: y\"\n",
            "a: {b: 1,\nssl_verify: 2}\n",
            "a: [1,\n  2]\n",
        ] {
            assert!(set(bad, "x").is_err(), "{bad:?}");
        }
    }
}
