//! How gantry writes numbers, durations and table cells for humans: one way for every action.

use std::time::Duration;

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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn cells_escape_pipes_and_line_breaks() {
        assert_eq!(markdown_cell("a|b\nc"), "a\\|b<br>c");
        assert_eq!(markdown_cell("plain"), "plain");
    }
}
