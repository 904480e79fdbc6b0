//! The sticky pull-request comment: one per environment, found again by a hidden marker and
//! updated in place, within GitHub's 65,536-character limit — the detail is cut, never the
//! heading and summary line.

use serde_json::Value;

/// GitHub's limit for a comment body, in characters.
pub const MAX_BODY_CHARS: usize = 65_536;

const CUT_NOTE: &str = "\n\n… (the diff is cut here to fit GitHub's comment limit; the whole plan is in the run's step summary)\n";

/// What closes a `<details>` the cut left open.
const CLOSE_DETAILS: &str = "\n\n</details>";

/// The hidden marker that identifies the comment of `environment` (the stack name for a single
/// stack).
pub fn marker(environment: &str) -> String {
    format!("<!-- gantry-stack plan: {environment} -->")
}

/// The comment body: marker, heading with the summary line, then as much of the detail as fits.
pub fn body(marker: &str, head: &str, detail: &str, footer: &str) -> String {
    let fixed = marker.chars().count() + 1 + head.chars().count() + footer.chars().count();
    let room = MAX_BODY_CHARS.saturating_sub(fixed);
    let detail = if detail.chars().count() <= room {
        detail.to_owned()
    } else {
        // Room for the note, and for closing a <details> the cut may leave open.
        let keep = room.saturating_sub(CUT_NOTE.chars().count() + CLOSE_DETAILS.chars().count());
        let mut cut: String = detail.chars().take(keep).collect();
        // Do not leave half a table row or an open <details>.
        if let Some(nl) = cut.rfind('\n') {
            cut.truncate(nl);
        }
        if cut.matches("<details>").count() > cut.matches("</details>").count() {
            cut.push_str(CLOSE_DETAILS);
        }
        format!("{cut}{CUT_NOTE}")
    };
    format!("{marker}\n{head}{detail}{footer}")
}

/// The pull request of this run: `refs/pull/N/merge` (or `/head`) in `GITHUB_REF`, else the
/// event's `pull_request.number` (`GITHUB_EVENT_PATH`).
pub fn pull_request_number(github_ref: Option<&str>, event: Option<&Value>) -> Option<u64> {
    let from_ref = github_ref
        .and_then(|r| r.strip_prefix("refs/pull/"))
        .and_then(|r| r.split('/').next())
        .and_then(|n| n.parse().ok());
    from_ref.or_else(|| {
        event
            .and_then(|e| e.get("pull_request"))
            .and_then(|p| p.get("number"))
            .and_then(Value::as_u64)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closing_an_open_details_stays_within_the_limit() {
        // Whatever row length puts the cut on a line end, the closing tag still fits.
        for width in 1..=48 {
            let row = format!("{}\n", "x".repeat(width));
            let detail = format!(
                "<details>\n{}",
                row.repeat(MAX_BODY_CHARS / (width + 1) + 2)
            );
            let b = body(&marker("prod"), "head\n", &detail, "");
            assert!(
                b.chars().count() <= MAX_BODY_CHARS,
                "row width {width}: {}",
                b.chars().count()
            );
            assert!(b.contains("</details>"), "row width {width}");
        }
    }

    #[test]
    fn a_long_detail_is_cut_never_the_summary_line() {
        let m = marker("prod");
        let head =
            "### CloudFormation plan — prod\n\n**2 of 8 stacks change** · 900 resource changes\n\n";
        let row = "| `Queue` | AWS::SQS::Queue | Add |  |\n";
        let detail = format!(
            "<details><summary>Property changes</summary>\n\n{}",
            row.repeat(3000)
        );
        let b = body(&m, head, &detail, "\n_footer_\n");
        assert!(b.chars().count() <= MAX_BODY_CHARS, "{}", b.chars().count());
        assert!(b.starts_with(&format!("{m}\n{head}")));
        assert!(b.ends_with("_footer_\n"));
        assert!(b.contains("the diff is cut here"));
        assert!(b.contains("</details>"), "an opened <details> is closed");
        let before_note = b.split("\n\n… (the diff").next().unwrap();
        assert!(
            before_note.ends_with("|") || before_note.ends_with("</details>"),
            "no half row"
        );
        // A short one is whole.
        let short = body(&m, head, row, "");
        assert_eq!(short, format!("{m}\n{head}{row}"));
    }

    #[test]
    fn multibyte_text_counts_characters() {
        let detail = "→".repeat(70_000);
        let b = body(&marker("dev"), "h\n", &detail, "");
        assert!(b.chars().count() <= MAX_BODY_CHARS);
    }

    #[test]
    fn the_pull_request_comes_from_the_ref_or_the_event() {
        assert_eq!(
            pull_request_number(Some("refs/pull/42/merge"), None),
            Some(42)
        );
        assert_eq!(pull_request_number(Some("refs/heads/main"), None), None);
        let event = serde_json::json!({"pull_request": {"number": 7}});
        assert_eq!(
            pull_request_number(Some("refs/heads/x"), Some(&event)),
            Some(7)
        );
        assert_eq!(
            pull_request_number(None, Some(&serde_json::json!({}))),
            None
        );
        assert_ne!(marker("dev"), marker("prod"));
    }
}
