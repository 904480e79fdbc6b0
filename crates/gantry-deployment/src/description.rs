//! Status descriptions: GitHub keeps at most 140 characters, so longer ones are cut (on a
//! character boundary, with `…`), never refused; and the mark that says a release is bad.

/// GitHub's limit for a deployment status description, in characters.
pub const MAX_CHARS: usize = 140;

/// What a description turned into.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cut {
    pub text: String,
    /// True when it was longer than [`MAX_CHARS`] and was cut.
    pub cut: bool,
}

/// Cuts `s` to [`MAX_CHARS`] characters: the first 139 and `…`. Counting characters (not
/// bytes) keeps every multi-byte character whole.
pub fn cut(s: &str) -> Cut {
    let s = s.trim();
    if s.chars().count() <= MAX_CHARS {
        return Cut {
            text: s.to_owned(),
            cut: false,
        };
    }
    let mut text: String = s.chars().take(MAX_CHARS - 1).collect();
    text.push('…');
    Cut { text, cut: true }
}

/// The start of the description of a status that marks a release bad. Recognised on any
/// `failure`, `error` or `inactive` status of a deployment, wherever it is in the history.
pub const MARK_PREFIX: &str = "gantry: marked bad: ";

/// The description of a mark: the prefix and the reason, cut to GitHub's limit.
pub fn mark(reason: &str) -> Cut {
    cut(&format!("{MARK_PREFIX}{}", reason.trim()))
}

/// The reason of a mark, if `description` is one.
pub fn marked_reason(description: &str) -> Option<&str> {
    description.strip_prefix(MARK_PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_descriptions_stay_as_they_are() {
        assert_eq!(
            cut(" deployed a84d88e "),
            Cut {
                text: "deployed a84d88e".into(),
                cut: false
            }
        );
        let exactly = "é".repeat(140);
        assert_eq!(cut(&exactly).text, exactly);
        assert!(!cut(&exactly).cut);
    }

    #[test]
    fn long_descriptions_are_cut_on_a_character_boundary() {
        // 2-, 3- and 4-byte characters across the cut: every one stays whole.
        for unit in ["é", "€", "🚀", "a"] {
            let long = unit.repeat(200);
            let c = cut(&long);
            assert!(c.cut);
            assert_eq!(c.text.chars().count(), 140, "{unit}");
            assert!(c.text.ends_with('…'));
            assert!(c.text.starts_with(&unit.repeat(139)));
        }
        let mixed = format!("{}🚀🚀🚀", "x".repeat(138));
        assert_eq!(cut(&mixed).text, format!("{}🚀…", "x".repeat(138)));
    }

    #[test]
    fn marks_are_recognised() {
        let m = mark("  rolled back: p99 latency alarm ");
        assert_eq!(m.text, "gantry: marked bad: rolled back: p99 latency alarm");
        assert_eq!(
            marked_reason(&m.text),
            Some("rolled back: p99 latency alarm")
        );
        assert_eq!(marked_reason("deployed by gantry"), None);
        assert_eq!(mark(&"y".repeat(300)).text.chars().count(), 140);
    }
}
