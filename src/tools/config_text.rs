//! Editing line-based config files as text, keeping every byte a tool plan does not mean to
//! change: the file's line endings, its comments, its other settings. Holds the pieces the tool
//! files share, and the one reader of Python's `configparser` format (AWS CLI's `~/.aws/config`,
//! gcloud's configuration files), written after CPython's `RawConfigParser._read` so that a file
//! it would refuse is refused here too rather than edited into something else.

use super::{ToolError, ToolId};
use std::ops::Range;
use std::path::Path;

/// The file as text; a file that is not UTF-8 is not guessed at.
pub fn decode(tool: ToolId, path: &Path, bytes: Vec<u8>) -> Result<String, ToolError> {
    String::from_utf8(bytes).map_err(|_| ToolError::Unparsable {
        tool,
        path: path.to_path_buf(),
        message: "not UTF-8 text".to_owned(),
    })
}

/// A path as the text a config file will hold: it must be UTF-8 and free of control characters
/// (a newline would end the setting early in every format here).
pub fn path_text(tool: ToolId, path: &Path) -> Result<&str, ToolError> {
    let text = path.to_str().ok_or_else(|| ToolError::UnsafePath {
        tool,
        path: path.to_path_buf(),
        why: "not valid UTF-8".to_owned(),
    })?;
    if text.chars().any(char::is_control) {
        return Err(ToolError::UnsafePath {
            tool,
            path: path.to_path_buf(),
            why: "holds a control character".to_owned(),
        });
    }
    Ok(text)
}

/// A person who wrote the file with CRLF gets CRLF on the lines added to it.
pub fn newline_of(text: &str) -> &'static str {
    if text.contains("\r\n") {
        "\r\n"
    } else {
        "\n"
    }
}

/// One physical line: where it starts, where its content ends, where the next line starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line {
    pub start: usize,
    pub content_end: usize,
    pub end: usize,
}

/// Every line of `text`, the last one possibly without a line ending.
pub fn lines(text: &str) -> Vec<Line> {
    let mut out = Vec::new();
    let mut start: usize = 0;
    for piece in text.split_inclusive('\n') {
        let end = start.saturating_add(piece.len());
        let content = piece
            .strip_suffix('\n')
            .map(|p| p.strip_suffix('\r').unwrap_or(p))
            .unwrap_or(piece);
        out.push(Line {
            start,
            content_end: start.saturating_add(content.len()),
            end,
        });
        start = end;
    }
    out
}

/// `text` with `range` replaced by `with`.
pub fn splice(text: &str, range: Range<usize>, with: &str) -> String {
    let mut out = String::with_capacity(text.len().saturating_add(with.len()));
    out.push_str(text.get(..range.start).unwrap_or(text));
    out.push_str(with);
    out.push_str(text.get(range.end..).unwrap_or(""));
    out
}

/// `text` with `new_lines` added at its end, each ended by `nl`, after a line ending when the
/// last line had none.
pub fn append_lines(text: &str, new_lines: &[String], nl: &str) -> String {
    let mut out = text.to_owned();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push_str(nl);
    }
    for line in new_lines {
        out.push_str(line);
        out.push_str(nl);
    }
    out
}

/// `text` with `new_line` (ended by `nl`) inserted at byte `at`, which is a line start or the
/// end of the text; a last line without an ending gets one first.
pub fn insert_line(text: &str, at: usize, new_line: &str, nl: &str) -> String {
    let mut insert = String::new();
    let before = text.get(..at).unwrap_or(text);
    if !before.is_empty() && !before.ends_with('\n') {
        insert.push_str(nl);
    }
    insert.push_str(new_line);
    insert.push_str(nl);
    splice(text, at..at, &insert)
}

/// What one line of a `configparser` file is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IniKind {
    /// Empty or white space only.
    Blank,
    /// `#` or `;` first, after any indentation (configparser's full-line comments).
    Comment,
    /// `[name]`: the name as configparser keeps it (case kept).
    Section(String),
    /// `name = value` or `name: value`: the name lower-cased (configparser's `optionxform`), the
    /// value stripped.
    Option { name: String, value: String },
    /// An indented line continuing the option above it.
    Continuation,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IniLine {
    pub line: Line,
    pub kind: IniKind,
    /// The index (in [`IniDoc::lines`]) of the section header above, if any.
    pub section: Option<usize>,
}

/// A `configparser` file, line by line.
#[derive(Debug)]
pub struct IniDoc {
    pub lines: Vec<IniLine>,
}

impl IniDoc {
    /// Parses as `RawConfigParser(strict=True)` would, refusing what it refuses (an option
    /// before any section, a line that is neither, a section or an option given twice).
    pub fn parse(text: &str) -> Result<IniDoc, String> {
        let mut out: Vec<IniLine> = Vec::new();
        let mut section: Option<usize> = None;
        let mut option_open = false;
        let mut indent_level = usize::MAX;
        let mut seen_sections: Vec<String> = Vec::new();
        let mut seen_options: Vec<(usize, String)> = Vec::new();
        for (number, line) in lines(text).into_iter().enumerate() {
            let raw = text.get(line.start..line.content_end).unwrap_or("");
            let stripped = raw.trim();
            let index = out.len();
            let kind = if stripped.starts_with('#') || stripped.starts_with(';') {
                IniKind::Comment
            } else if stripped.is_empty() {
                IniKind::Blank
            } else {
                let indent = raw.len().saturating_sub(raw.trim_start().len());
                if section.is_some() && option_open && indent > indent_level {
                    IniKind::Continuation
                } else {
                    indent_level = indent;
                    if let Some(name) = section_name(stripped) {
                        if seen_sections.iter().any(|s| s == name) {
                            return Err(format!(
                                "line {}: section [{name}] given twice",
                                number.saturating_add(1)
                            ));
                        }
                        seen_sections.push(name.to_owned());
                        section = Some(index);
                        option_open = false;
                        IniKind::Section(name.to_owned())
                    } else {
                        let Some(current) = section else {
                            return Err(format!(
                                "line {}: a setting before any [section]",
                                number.saturating_add(1)
                            ));
                        };
                        let Some(cut) = stripped.find(['=', ':']) else {
                            return Err(format!(
                                "line {}: neither a [section] nor name = value",
                                number.saturating_add(1)
                            ));
                        };
                        let name = stripped.get(..cut).unwrap_or("").trim_end().to_lowercase();
                        if name.is_empty() {
                            return Err(format!(
                                "line {}: a setting without a name",
                                number.saturating_add(1)
                            ));
                        }
                        let value = stripped
                            .get(cut.saturating_add(1)..)
                            .unwrap_or("")
                            .trim()
                            .to_owned();
                        if seen_options
                            .iter()
                            .any(|(s, n)| *s == current && *n == name)
                        {
                            return Err(format!(
                                "line {}: {name} given twice in its section",
                                number.saturating_add(1)
                            ));
                        }
                        seen_options.push((current, name.clone()));
                        option_open = true;
                        IniKind::Option { name, value }
                    }
                }
            };
            out.push(IniLine {
                line,
                kind,
                section,
            });
        }
        Ok(IniDoc { lines: out })
    }

    /// The header lines whose section name satisfies `wanted`.
    pub fn sections(&self, wanted: impl Fn(&str) -> bool) -> Vec<usize> {
        self.lines
            .iter()
            .enumerate()
            .filter(|(_, l)| matches!(&l.kind, IniKind::Section(name) if wanted(name)))
            .map(|(i, _)| i)
            .collect()
    }

    /// The option `name` (lower case) in the section headed at `section`: its line index.
    pub fn option(&self, section: usize, name: &str) -> Option<usize> {
        self.lines.iter().position(|l| {
            l.section == Some(section)
                && matches!(&l.kind, IniKind::Option { name: n, .. } if n == name)
        })
    }

    /// Whether the option at `index` goes on over indented lines (a nested or multi-line
    /// value, never a path).
    pub fn continues(&self, index: usize) -> bool {
        self.lines
            .iter()
            .skip(index.saturating_add(1))
            .take_while(|l| {
                matches!(
                    l.kind,
                    IniKind::Continuation | IniKind::Blank | IniKind::Comment
                )
            })
            .any(|l| l.kind == IniKind::Continuation)
    }

    /// Where a new option of the section headed at `section` goes: after its last option or
    /// continuation line (so trailing comments and blank lines stay between sections), else
    /// right after the header.
    pub fn end_of_section(&self, section: usize) -> usize {
        let mut at = self.lines.get(section).map_or(0, |l| l.line.end);
        for l in self.lines.iter().skip(section.saturating_add(1)) {
            match l.kind {
                IniKind::Section(_) => break,
                IniKind::Option { .. } | IniKind::Continuation => at = l.line.end,
                IniKind::Blank | IniKind::Comment => {}
            }
        }
        at
    }
}

/// `text` with the option line `line` set in a `configparser` file: over the option at
/// `existing`, else at the end of the section headed at `section`, else in a new section
/// `header` appended.
pub fn ini_set(
    text: &str,
    doc: &IniDoc,
    section: Option<usize>,
    existing: Option<usize>,
    header: &str,
    line: &str,
) -> String {
    let nl = newline_of(text);
    if let Some(old) = existing.and_then(|i| doc.lines.get(i)) {
        return splice(text, old.line.start..old.line.content_end, line);
    }
    match section {
        Some(h) => insert_line(text, doc.end_of_section(h), line, nl),
        None => append_lines(text, &[header.to_owned(), line.to_owned()], nl),
    }
}

/// configparser's `\[(?P<header>.+)\]` on the stripped line: from the first `[` to the last `]`.
fn section_name(stripped: &str) -> Option<&str> {
    let rest = stripped.strip_prefix('[')?;
    let close = rest.rfind(']')?;
    let name = rest.get(..close)?;
    (!name.is_empty()).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_keep_their_endings() {
        let text = "a\r\nb\nc";
        let got: Vec<_> = lines(text)
            .iter()
            .map(|l| (&text[l.start..l.content_end], &text[l.start..l.end]))
            .collect();
        assert_eq!(got, vec![("a", "a\r\n"), ("b", "b\n"), ("c", "c")]);
        assert_eq!(newline_of(text), "\r\n");
        assert_eq!(append_lines("x", &["y".into()], "\n"), "x\ny\n");
        assert_eq!(insert_line("x", 1, "y", "\r\n"), "x\r\ny\r\n");
    }

    #[test]
    fn configparser_shapes() {
        let doc =
            IniDoc::parse("# c\n[default]\nregion = eu\ns3 =\n  max = 1\n\n[profile x]\nA : b\n")
                .unwrap();
        let kinds: Vec<_> = doc.lines.iter().map(|l| l.kind.clone()).collect();
        assert_eq!(kinds[0], IniKind::Comment);
        assert_eq!(kinds[1], IniKind::Section("default".into()));
        assert_eq!(kinds[4], IniKind::Continuation);
        assert_eq!(
            kinds[7],
            IniKind::Option {
                name: "a".into(),
                value: "b".into()
            }
        );
        assert!(doc.continues(3));
        assert!(!doc.continues(2));
        assert_eq!(
            doc.end_of_section(1),
            "# c\n[default]\nregion = eu\ns3 =\n  max = 1\n".len()
        );
        for bad in ["a = b\n", "[s]\nnovalue\n", "[s]\n[s]\n", "[s]\na=1\nA=2\n"] {
            assert!(IniDoc::parse(bad).is_err(), "{bad:?}");
        }
    }
}
