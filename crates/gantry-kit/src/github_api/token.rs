//! The GitHub token: masked with the runner before anything could print it, and never shown by
//! `Debug` or `Display`.

use std::fmt;

/// A GitHub token (`github-token` input, by default the workflow's `GITHUB_TOKEN`).
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// A token from an input value; `None` when the value is blank. Registers it with the runner
    /// (`::add-mask::`) at once, so no later line can show it.
    pub fn from_input(value: &str) -> Option<Self> {
        let t = value.trim();
        if t.is_empty() {
            return None;
        }
        crate::report::mask(t);
        Some(Self(t.to_owned()))
    }

    /// The secret itself, for the `Authorization` header only.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_shown_and_blank_is_none() {
        let t = Token::from_input("  ghs_secret123 ").unwrap();
        assert_eq!(format!("{t:?}"), "Token(***)");
        assert_eq!(t.expose(), "ghs_secret123");
        assert!(Token::from_input(" \n").is_none());
    }
}
