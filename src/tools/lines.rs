//! Line-level editing shared by the config-file formats of the Node and conda tools (`.npmrc`
//! ini, yarn 1's `.yarnrc`, top-level YAML keys): every line the edit does not own is kept byte
//! for byte, line endings included, so uninstall's byte-for-byte restore and the person's own
//! formatting never depend on a parser's round trip.

use super::{FileEdit, ToolError, ToolId};
use std::path::Path;

/// A config file's current text: UTF-8 (every format here is read as UTF-8 by its tool) and free
/// of NUL bytes (a binary file at a config path is not something to edit). Absent is empty.
pub(crate) fn decode(tool: ToolId, path: &Path, bytes: Option<&[u8]>) -> Result<String, ToolError> {
    let bytes = bytes.unwrap_or_default();
    let unparsable = |message: &str| ToolError::Unparsable {
        tool,
        path: path.to_path_buf(),
        message: message.to_string(),
    };
    let text = std::str::from_utf8(bytes).map_err(|_| unparsable("not UTF-8 text"))?;
    if text.contains('\0') {
        return Err(unparsable("holds a NUL byte"));
    }
    Ok(text.to_string())
}

/// The line ending new lines get: the file's own when it uses CRLF, else LF.
pub(crate) fn eol_of(text: &str) -> &'static str {
    if text.contains("\r\n") {
        "\r\n"
    } else {
        "\n"
    }
}

/// A line without its ending, and the ending (`""` on a last line without one).
pub(crate) fn split_eol(line: &str) -> (&str, &str) {
    if let Some(body) = line.strip_suffix("\r\n") {
        (body, "\r\n")
    } else if let Some(body) = line.strip_suffix('\n') {
        (body, "\n")
    } else {
        (line, "")
    }
}

/// Lines with their endings, so that joining them gives the text back exactly.
pub(crate) fn lines(text: &str) -> Vec<&str> {
    text.split_inclusive('\n').collect()
}

/// Adds `line` and an ending after `out`, ending `out`'s last line first when it has none.
pub(crate) fn push_line(out: &mut String, line: &str, eol: &str) {
    if !out.is_empty() && !out.ends_with('\n') {
        out.push_str(eol);
    }
    out.push_str(line);
    out.push_str(eol);
}

/// The path a setting names, as text every format here can carry: UTF-8 without control
/// characters (a newline would end the setting and start another one).
pub(crate) fn path_text(tool: ToolId, path: &Path) -> Result<&str, ToolError> {
    let unsafe_path = |why: &str| ToolError::UnsafePath {
        tool,
        path: path.to_path_buf(),
        why: why.to_string(),
    };
    let text = path
        .to_str()
        .ok_or_else(|| unsafe_path("not valid UTF-8"))?;
    if text.chars().any(char::is_control) {
        return Err(unsafe_path("holds a control character"));
    }
    if text.is_empty() {
        return Err(unsafe_path("empty"));
    }
    Ok(text)
}

/// The edit to plan: none when the bytes would not change (already configured, by trust-proxy
/// or by the person), so the engine records nothing it would later "restore" onto itself.
pub(crate) fn edit_if_changed(
    path: &Path,
    before: Option<&[u8]>,
    after: String,
    sensitive: bool,
    setting: String,
) -> Option<FileEdit> {
    if before == Some(after.as_bytes()) {
        return None;
    }
    Some(FileEdit {
        path: path.to_path_buf(),
        contents: after.into_bytes(),
        sensitive,
        setting,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_join_back_exactly_and_endings_follow_the_file() {
        for text in ["a\r\nb\n\nc", "", "x\n", "\r\n"] {
            assert_eq!(lines(text).concat(), text);
        }
        assert_eq!(split_eol("a\r\n"), ("a", "\r\n"));
        assert_eq!(split_eol("a"), ("a", ""));
        assert_eq!(eol_of("a\nb\r\n"), "\r\n");
        let mut out = "a".to_string();
        push_line(&mut out, "b", "\r\n");
        assert_eq!(out, "a\r\nb\r\n");
        assert!(path_text(ToolId::Npm, Path::new("/a\nb")).is_err());
        assert!(decode(ToolId::Npm, Path::new("/f"), Some(b"\xff")).is_err());
        assert!(decode(ToolId::Npm, Path::new("/f"), Some(b"a\0")).is_err());
    }
}
