//! How gantry writes numbers, durations, digests, table cells and names from outside: one way
//! for every action.

use std::borrow::Cow;
use std::time::Duration;

/// `bytes` in lowercase hex, two digits a byte: how digests (SHA-256, MD5) are written.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// A size in IEC binary units (`999 B`, `1.5 KiB`, `100.0 MiB`): powers of 1024, one decimal.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// A duration for humans, to the second (`1m 30s`).
pub fn format_duration(d: Duration) -> String {
    humantime::format_duration(Duration::from_secs(d.as_secs())).to_string()
}

/// A duration for humans at full precision (`500ms`, `1s 500ms`): for echoing an input back,
/// where rounding to the second would misquote it.
pub fn format_duration_exact(d: Duration) -> String {
    humantime::format_duration(d).to_string()
}

/// Text made safe for one cell of a markdown table: `|` escaped, line breaks as `<br>`.
pub fn markdown_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', "<br>")
}

/// Pushes `c` percent-encoded: `%XX` (uppercase hex) for each of its UTF-8 bytes.
pub fn push_percent_encoded(out: &mut String, c: char) {
    let mut buf = [0u8; 4];
    for b in c.encode_utf8(&mut buf).bytes() {
        out.push_str(&format!("%{b:02X}"));
    }
}

/// RFC 1738's unsafe characters, which a URL path carries percent-encoded: space,
/// `<>"#{}|\^[]` and the backtick.
pub fn url_unsafe(c: char) -> bool {
    matches!(
        c,
        ' ' | '<' | '>' | '"' | '#' | '{' | '}' | '|' | '\\' | '^' | '[' | ']' | '`'
    )
}

/// A name that came from outside (a file name, an object key, a tag) made safe for one log
/// line, so that it can neither end the line nor start a workflow command: `%`, CR and LF are
/// escaped as the runner's command data is (`%25`, `%0D`, `%0A`), every other control character
/// as `%XX` of its UTF-8 bytes, and a leading `::` (after whitespace, which the runner skips
/// before it looks for a command) as `%3A%3A`. A plain name comes back as it is.
pub fn log_safe(name: &str) -> Cow<'_, str> {
    let trimmed = name.trim_start();
    let command = trimmed.starts_with("::");
    if !command && !name.chars().any(|c| c == '%' || c.is_control()) {
        return Cow::Borrowed(name);
    }
    let escape = |out: &mut String, text: &str| {
        for c in text.chars() {
            if c == '%' || c.is_control() {
                push_percent_encoded(out, c);
            } else {
                out.push(c);
            }
        }
    };
    let mut out = String::with_capacity(name.len() + 8);
    if command {
        escape(&mut out, &name[..name.len() - trimmed.len()]);
        out.push_str("%3A%3A");
        escape(&mut out, &trimmed[2..]);
    } else {
        escape(&mut out, name);
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_lowercase_two_digits_a_byte() {
        assert_eq!(hex(&[0x00, 0x0a, 0xff, 0x5c]), "000aff5c");
        assert_eq!(hex(&[]), "");
    }

    #[test]
    fn bytes_are_binary_units() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1023), "1023 B");
        assert_eq!(human_bytes(1024), "1.0 KiB");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(104_857_600), "100.0 MiB");
        assert_eq!(human_bytes(5 << 30), "5.0 GiB");
        assert_eq!(human_bytes(3 << 40), "3.0 TiB");
        assert_eq!(
            human_bytes(2048 << 40),
            "2048.0 TiB",
            "the largest unit keeps growing"
        );
    }

    #[test]
    fn durations() {
        assert_eq!(format_duration(Duration::from_millis(90_400)), "1m 30s");
        assert_eq!(format_duration(Duration::from_millis(500)), "0s");
        assert_eq!(format_duration_exact(Duration::from_millis(500)), "500ms");
        assert_eq!(
            format_duration_exact(Duration::from_millis(1500)),
            "1s 500ms"
        );
        assert_eq!(format_duration_exact(Duration::from_secs(600)), "10m");
    }

    #[test]
    fn names_cannot_end_a_line_or_start_a_workflow_command() {
        assert_eq!(log_safe("assets/app-1.js"), "assets/app-1.js");
        assert!(matches!(log_safe("a b/é.html"), Cow::Borrowed(_)));
        assert_eq!(
            log_safe("evil\n::warning title=pwned::x"),
            "evil%0A::warning title=pwned::x"
        );
        assert_eq!(log_safe("a\r\nb"), "a%0D%0Ab");
        assert_eq!(
            log_safe("50%.html"),
            "50%25.html",
            "unambiguous: `%0A` stays itself"
        );
        assert_eq!(log_safe("%0A"), "%250A");
        assert_eq!(
            log_safe("::warning title=pwned::x"),
            "%3A%3Awarning title=pwned::x"
        );
        assert_eq!(log_safe("  ::error::x"), "  %3A%3Aerror::x");
        assert_eq!(
            log_safe("\t::x"),
            "%09%3A%3Ax",
            "a tab is whitespace to the runner"
        );
        assert_eq!(
            log_safe("a::b"),
            "a::b",
            "only a leading `::` starts a command"
        );
        assert_eq!(log_safe("bell\u{7}esc\u{1b}[31m"), "bell%07esc%1B[31m");
        assert_eq!(log_safe("nel\u{85}"), "nel%C2%85");
        for hostile in [
            "x\n::warning::y",
            "::set-output name=a::b",
            "\r::add-mask::z",
        ] {
            let safe = log_safe(hostile);
            assert!(!safe.contains(['\n', '\r']), "{safe}");
            assert!(!safe.trim_start().starts_with("::"), "{safe}");
        }
    }

    #[test]
    fn cells_escape_pipes_and_line_breaks() {
        assert_eq!(markdown_cell("a|b\nc"), "a\\|b<br>c");
        assert_eq!(markdown_cell("plain"), "plain");
    }
}
