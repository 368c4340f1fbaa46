//! The one place where text from certificates and peers is made safe to show.
//!
//! Subjects, SANs, AIA URLs, hint locations, a proxy's reason phrase and error text quoting peer
//! bytes are chosen by whoever runs the network. A terminal obeys control characters and escape
//! sequences (clear the screen, set the title, fake a hyperlink, paste-inject), and Unicode
//! format characters change what a line *looks* like without changing what it *is*: a bidi
//! override shows `exe.gnp` for `png.exe`, a zero-width character makes two different names
//! look identical. Either could make a person confirm a CA under a name it does not have.
//!
//! Human output therefore shows every such character as an inert escape (`\x1b`, `\u{202e}`).
//! JSON output keeps values exact but writes those characters as `\uXXXX` escapes, so a JSON
//! consumer decodes the very same string while a terminal showing the raw JSON never sees them.

use serde::Serialize;
use std::fmt::Write as _;
use std::io;

/// Longest piece of peer text shown in one place: a real name or error is far shorter, a
/// hostile one need not be, and a screenful of it would push the fingerprint out of sight.
pub const MAX_SHOWN_CHARS: usize = 200;

/// Characters that must never reach a terminal as they are.
///
/// - `Cc`: C0 controls, DEL and C1 controls (C1 CSI U+009B starts an escape sequence on its own).
/// - `Zl`/`Zp`: U+2028 and U+2029 break lines in some terminals and most editors, so they could
///   forge a report line as a raw newline does.
/// - `Cf` (format characters, Unicode 16): invisible by definition. Among them the bidi
///   embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069), the marks (U+200E,
///   U+200F, U+061C), zero-width space/joiners (U+200B-U+200D, U+2060), the BOM (U+FEFF),
///   the soft hyphen, the interlinear annotation controls and the tag characters (U+E0000
///   block, which can spell hidden ASCII). The whole category is listed rather than a
///   hand-picked subset because no member of it is needed to read a name and each is invisible.
pub fn is_unsafe_for_display(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00AD}'
                | '\u{0600}'..='\u{0605}'
                | '\u{061C}'
                | '\u{06DD}'
                | '\u{070F}'
                | '\u{0890}'..='\u{0891}'
                | '\u{08E2}'
                | '\u{180E}'
                | '\u{200B}'..='\u{200F}'
                | '\u{2028}'..='\u{202E}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{206F}'
                | '\u{FEFF}'
                | '\u{FFF9}'..='\u{FFFB}'
                | '\u{110BD}'
                | '\u{110CD}'
                | '\u{13430}'..='\u{1343F}'
                | '\u{1BCA0}'..='\u{1BCA3}'
                | '\u{1D173}'..='\u{1D17A}'
                | '\u{E0001}'
                | '\u{E0020}'..='\u{E007F}'
        )
}

fn push_escaped(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        // `write!` into a String cannot fail; the Result is only the fmt::Write signature.
        c if u32::from(c) < 0x80 => {
            let _ = write!(out, "\\x{:02x}", u32::from(c));
        }
        c => {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        }
    }
}

/// One field of peer text for a human: every unsafe character escaped, line breaks included
/// (a name must not start a line of its own that looks like part of the report), and at most
/// [`MAX_SHOWN_CHARS`] characters of it.
///
/// A backslash is left as it is: a terminal gives it no meaning, Windows paths stay readable,
/// and applying this twice gives the same text as once (plan steps and errors pass through
/// more than one renderer).
pub fn printable(s: &str) -> String {
    escape(s, Some(MAX_SHOWN_CHARS))
}

/// As [`printable`], without the length bound: for trust-proxy's own sentences that quote peer
/// text (advice, reasons), which must be shown whole.
pub fn escaped(s: &str) -> String {
    escape(s, None)
}

/// [`printable`] between double quotes: how a human message quotes a name or value it did not
/// choose (a subject, a bypass entry, a proxy's reply), rather than Rust's `{:?}`, which would
/// escape the escapes a second time.
pub fn quoted(s: &str) -> String {
    format!("\"{}\"", printable(s))
}

fn escape(s: &str, max_chars: Option<usize>) -> String {
    let mut out = String::with_capacity(s.len().min(MAX_SHOWN_CHARS * 4));
    for (n, c) in s.chars().enumerate() {
        if Some(n) == max_chars {
            out.push('…');
            break;
        }
        if is_unsafe_for_display(c) {
            push_escaped(&mut out, c);
        } else {
            out.push(c);
        }
    }
    out
}

/// A whole rendered report or message, as the last step before it is written: line breaks
/// stay (the report has lines), every other unsafe character is escaped. This is the net under
/// the per-field [`printable`]: a field a renderer forgot can still not move the cursor, set the
/// terminal title or reorder what is shown.
pub fn for_terminal(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c != '\n' && is_unsafe_for_display(c) {
            push_escaped(&mut out, c);
        } else {
            out.push(c);
        }
    }
    out
}

/// A serde_json formatter that writes unsafe characters inside strings as `\uXXXX` (UTF-16
/// surrogate pairs above U+FFFF, as JSON requires). serde_json already escapes U+0000-U+001F;
/// DEL, C1 and the format characters it writes raw, which is valid JSON but reaches a terminal
/// that shows the output (`trust-proxy discover --json` run by hand).
struct SafeFormatter<F> {
    inner: F,
}

impl<F: serde_json::ser::Formatter> serde_json::ser::Formatter for SafeFormatter<F> {
    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut clean_from = 0;
        for (at, c) in fragment.char_indices() {
            if !is_unsafe_for_display(c) {
                continue;
            }
            if let Some(clean) = fragment.get(clean_from..at) {
                self.inner.write_string_fragment(writer, clean)?;
            }
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                write!(writer, "\\u{unit:04x}")?;
            }
            clean_from = at + c.len_utf8();
        }
        match fragment.get(clean_from..) {
            Some(rest) if !rest.is_empty() => self.inner.write_string_fragment(writer, rest),
            _ => Ok(()),
        }
    }

    // Everything else is the pretty layout, delegated.
    fn begin_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.inner.begin_array(w)
    }
    fn end_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.inner.end_array(w)
    }
    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.inner.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.inner.end_array_value(w)
    }
    fn begin_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.inner.begin_object(w)
    }
    fn end_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.inner.end_object(w)
    }
    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.inner.begin_object_key(w, first)
    }
    fn end_object_key<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.inner.end_object_key(w)
    }
    fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.inner.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.inner.end_object_value(w)
    }
}

/// Pretty JSON in which no string carries a character unsafe for a terminal raw; the values a
/// JSON parser reads back are exactly those serialized.
pub fn to_json_pretty<T: Serialize + ?Sized>(value: &T) -> Result<String, serde_json::Error> {
    let mut out = Vec::new();
    let formatter = SafeFormatter {
        inner: serde_json::ser::PrettyFormatter::new(),
    };
    let mut ser = serde_json::Serializer::with_formatter(&mut out, formatter);
    value.serialize(&mut ser)?;
    // serde_json writes UTF-8 only; the lossy path exists so that a bug there cannot panic.
    Ok(String::from_utf8(out)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_controls_bidi_and_invisibles() {
        assert_eq!(printable("a\u{1b}[2Jb"), "a\\x1b[2Jb");
        assert_eq!(printable("x\u{9b}31m"), "x\\u{9b}31m");
        assert_eq!(printable("evil\u{202e}gnp.exe"), "evil\\u{202e}gnp.exe");
        assert_eq!(printable("a\u{2066}b\u{2069}"), "a\\u{2066}b\\u{2069}");
        assert_eq!(
            printable("pay\u{200b}pal\u{feff}"),
            "pay\\u{200b}pal\\u{feff}"
        );
        assert_eq!(printable("l1\nFake: l2\r"), "l1\\nFake: l2\\r");
        assert_eq!(printable("p\u{2028}q"), "p\\u{2028}q");
        assert_eq!(printable("tag\u{e0041}"), "tag\\u{e0041}");
        assert_eq!(printable("x\u{7f}"), "x\\x7f");
        // Ordinary non-ASCII names and Windows paths are shown as they are.
        assert_eq!(printable("Zürich Société 東京"), "Zürich Société 東京");
        assert_eq!(printable(r"C:\ProgramData\x"), r"C:\ProgramData\x");
    }

    #[test]
    fn printable_is_idempotent_and_bounded() {
        let once = printable("a\u{1b}\u{202e}b\n");
        assert_eq!(printable(&once), once);
        let long = printable(&"\u{1b}".repeat(10_000));
        assert!(
            long.chars().count() <= MAX_SHOWN_CHARS * 4 + 1,
            "{}",
            long.len()
        );
        assert!(long.ends_with('…'));
        let sentence = "x\u{1b}".repeat(300);
        assert_eq!(escaped(&sentence), "x\\x1b".repeat(300));
    }

    #[test]
    fn for_terminal_keeps_lines_only() {
        assert_eq!(
            for_terminal("line 1\nline\u{1b}]0;t\u{7} 2\u{202e}\n"),
            "line 1\nline\\x1b]0;t\\x07 2\\u{202e}\n"
        );
    }

    #[test]
    fn json_keeps_values_but_writes_escapes() {
        #[derive(Serialize)]
        struct V<'a> {
            name: &'a str,
        }
        let name =
            "E\u{1b}[1m\u{85}\u{202e}\u{2066}\u{200b}\u{feff}\u{2028}\u{e0041}\u{7f}\"\\ok é";
        let json = to_json_pretty(&V { name }).unwrap();
        assert!(
            !json.chars().any(|c| c != '\n' && is_unsafe_for_display(c)),
            "{json:?}"
        );
        assert!(
            json.contains("\\u202e") && json.contains("\\udb40\\udc41"),
            "{json}"
        );
        let back: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(back["name"], name);
    }
}
