//! GitHub Actions expressions: `${{ … }}` interpolation and `if:` conditions.
//!
//! [`lexer`] splits the text, [`parser`] builds a tree (Pratt), [`eval`] evaluates it against the
//! contexts with GitHub's coercion rules ([`value`]), [`template`] handles interpolation.

pub mod eval;
pub mod lexer;
pub mod parser;
pub mod template;
pub mod value;

pub use eval::Scope;
pub use parser::{Dialect, Expr, Place};
pub use template::{Condition, Template};
pub use value::Value;

/// An expression that does not parse or cannot be evaluated.
///
/// Messages follow the runner's wording (`Unrecognized named-value: 'x'. Located at position 1
/// within expression: x`) so that they read the same as on GitHub.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}{}", match .pos {
    Some(pos) => format!(". Located at position {pos} within expression: {}", .expression),
    None => format!(" (expression: {})", .expression),
})]
pub struct ExprError {
    pub message: String,
    /// 1-based character position in the expression, when the error has one.
    pub pos: Option<usize>,
    pub expression: String,
}

impl ExprError {
    pub fn new(message: impl Into<String>, expression: &str) -> Self {
        Self {
            message: message.into(),
            pos: None,
            expression: expression.to_owned(),
        }
    }

    pub fn at(message: impl Into<String>, pos: usize, expression: &str) -> Self {
        Self {
            message: message.into(),
            pos: Some(pos),
            expression: expression.to_owned(),
        }
    }
}
