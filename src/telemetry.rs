//! Process logging: information to stdout, warnings and errors to stderr, which the
//! Functions host logs as Information and Error. No colors, no timestamps (the host adds its own).
use std::borrow::Cow;
use tracing::Level;
use tracing_subscriber::fmt::writer::MakeWriterExt;
use tracing_subscriber::EnvFilter;

pub fn init() {
    let writer = std::io::stderr
        .with_max_level(Level::WARN)
        .or_else(std::io::stdout);
    let filter = EnvFilter::try_from_env("RUST_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,azure_core=warn,azure_identity=warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(false)
        .without_time()
        .with_target(false)
        .init();
}

/// For an operator command: only warnings and errors, on stderr, so that stdout holds the
/// command's answer alone.
pub fn init_for_operator() {
    let filter = EnvFilter::try_from_env("RUST_LOG")
        .unwrap_or_else(|_| EnvFilter::new("warn,azure_core=error,azure_identity=error"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .without_time()
        .with_target(false)
        .init();
}

/// `text` with every control character written as an escape (`\n`, `\u{1b}`), so that a
/// value from outside (a MessageId, an invocation id) cannot start a forged log line or
/// drive a terminal.
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .map(|c| {
                if c.is_control() {
                    c.escape_default().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect(),
    )
}

/// A value as it goes into a `key=value` log line, so that no value can pass for another
/// field: written bare when it is only letters, digits and `. _ - : / @ +` (every id, enum and
/// number the handler logs); otherwise as a JSON string literal in which a space, `=` and
/// every control character are `\u` escapes. A bare value or a quoted one is then one token
/// holding no `=`, so `\bkey=` in a query finds only the handler's own fields, and KQL's
/// `parse_json` reads a quoted one back (README, *Logging*).
pub fn field_value(text: &str) -> Cow<'_, str> {
    let bare = |c: char| c.is_ascii_alphanumeric() || "._-:/@+".contains(c);
    if !text.is_empty() && text.chars().all(bare) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            ' ' | '=' => out.push_str(&format!("\\u{:04x}", c as u32)),
            c if c.is_control() => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_field_value_is_one_token_without_an_equals_sign_and_reads_back_as_json() {
        assert_eq!(field_value("order-42"), "order-42");
        assert_eq!(field_value("2026-12-06T01:00:00Z"), "2026-12-06T01:00:00Z");
        let forged = "hr-0 outcome=resumed graphStatus=204";
        let written = field_value(forged);
        assert_eq!(
            written,
            r#""hr-0\u0020outcome\u003dresumed\u0020graphStatus\u003d204""#
        );
        for hostile in [
            forged,
            "",
            "a\"b\\c",
            "line\nbreak",
            "\u{1b}[2K",
            "é ✓",
            "\u{85}x",
        ] {
            let written = field_value(hostile);
            assert!(
                !written.contains(' ') && !written.contains('='),
                "{written}"
            );
            assert!(!written.chars().any(char::is_control), "{written}");
            let read: String =
                serde_json::from_str(&written).unwrap_or_else(|_| written.to_string());
            assert_eq!(read, hostile, "{written}");
        }
    }

    #[test]
    fn control_characters_are_escaped_and_other_text_is_kept() {
        assert_eq!(escape("order-42"), "order-42");
        assert_eq!(escape("a\nb\r\tc"), "a\\nb\\r\\tc");
        assert_eq!(escape("\u{1b}[31mred"), "\\u{1b}[31mred");
        assert_eq!(escape("é ✓"), "é ✓");
    }
}
