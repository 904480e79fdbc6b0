//! `${{ … }}` interpolation in strings, and `if:` conditions.

use super::ExprError;
use super::eval::Scope;
use super::parser::{Dialect, Expr, Function, Place, parse_in};
use super::value::Value;

#[derive(Debug, Clone)]
enum Part {
    Text(String),
    /// A parsed expression and its source text (for error messages).
    Expr(Expr, String),
}

/// A string that may contain `${{ … }}` expressions, parsed once at load time.
#[derive(Debug, Clone)]
pub struct Template {
    parts: Vec<Part>,
}

impl Template {
    /// Parses `text`; every expression is checked (syntax, function and context names) now, so a
    /// broken action is refused before anything runs.
    pub fn parse(text: &str) -> Result<Self, ExprError> {
        Self::parse_in(text, Dialect::ACTION)
    }

    /// Parses `text` with the contexts and functions of `dialect`.
    pub fn parse_in(text: &str, dialect: Dialect) -> Result<Self, ExprError> {
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(start) = rest.find("${{") {
            if start > 0 {
                parts.push(Part::Text(rest[..start].to_owned()));
            }
            let body = &rest[start + 3..];
            let end = closing_braces(body)
                .ok_or_else(|| ExprError::new("Unclosed expression: '}}' not found", text))?;
            let src = body[..end].trim();
            parts.push(Part::Expr(
                parse_in(src, Place::Value, dialect)?,
                src.to_owned(),
            ));
            rest = &body[end + 2..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_owned()));
        }
        Ok(Self { parts })
    }

    /// Whether an expression of the template reads the context `name` (lower-case).
    pub fn mentions(&self, name: &str) -> bool {
        self.parts
            .iter()
            .any(|p| matches!(p, Part::Expr(e, _) if e.mentions(name)))
    }

    /// Whether the template is plain text.
    pub fn is_literal(&self) -> bool {
        self.parts.iter().all(|p| matches!(p, Part::Text(_)))
    }

    /// Evaluates to a value: a lone `${{ x }}` keeps its type, anything else is a string.
    pub fn eval(&self, scope: &Scope) -> Result<Value, ExprError> {
        if let [Part::Expr(e, src)] = self.parts.as_slice() {
            return scope.eval(e, src);
        }
        Ok(Value::String(self.eval_string(scope)?))
    }

    /// Evaluates and converts to a string, as the runner does for `run:`, `env:` and `with:`.
    pub fn eval_string(&self, scope: &Scope) -> Result<String, ExprError> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Expr(e, src) => out.push_str(&scope.eval(e, src)?.to_expr_string()),
            }
        }
        Ok(out)
    }
}

/// Index of the `}}` that closes an expression, skipping over `'…'` string literals.
fn closing_braces(body: &str) -> Option<usize> {
    let bytes = body.as_bytes();
    let mut in_string = false;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\'' => in_string = !in_string,
            b'}' if !in_string && bytes.get(i + 1) == Some(&b'}') => return Some(i),
            _ => {}
        }
        i += 1;
    }
    None
}

/// A parsed `if:` condition.
#[derive(Debug, Clone)]
pub struct Condition {
    expr: Expr,
    src: String,
}

impl Condition {
    /// Parses an `if:` value. GitHub's rules: the `${{ }}` wrapper is optional; an empty condition
    /// is `success()`; with `implicit_success` (steps), a condition that calls no status function
    /// becomes `success() && (…)`.
    ///
    /// Text mixed with `${{ }}` (`${{ a }} == b`) is refused: GitHub would evaluate it as a
    /// non-empty string, which is always true — never what the author meant.
    pub fn parse(text: &str, implicit_success: bool) -> Result<Self, ExprError> {
        Self::parse_in(text, implicit_success, Dialect::ACTION)
    }

    /// [`Condition::parse`] with the contexts and functions of `dialect`.
    pub fn parse_in(
        text: &str,
        implicit_success: bool,
        dialect: Dialect,
    ) -> Result<Self, ExprError> {
        let trimmed = text.trim();
        let src = match trimmed
            .strip_prefix("${{")
            .and_then(|t| t.strip_suffix("}}"))
        {
            Some(inner) if closing_braces(inner).is_none() && !inner.contains("${{") => {
                inner.trim()
            }
            _ if trimmed.contains("${{") => {
                return Err(ExprError::new(
                    "An 'if:' condition must be a single expression; text mixed with '${{ }}' \
                     always evaluates to true on GitHub and is refused",
                    trimmed,
                ));
            }
            _ => trimmed,
        };
        let success = Expr::Call(Function::Success, Vec::new());
        let expr = if src.is_empty() {
            success
        } else {
            let parsed = parse_in(src, Place::Condition, dialect)?;
            if implicit_success && !parsed.has_status_call() {
                Expr::And(Box::new(success), Box::new(parsed))
            } else {
                parsed
            }
        };
        Ok(Self {
            expr,
            src: src.to_owned(),
        })
    }

    pub fn eval(&self, scope: &Scope) -> Result<bool, ExprError> {
        Ok(scope.eval(&self.expr, &self.src)?.is_truthy())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::eval::string_map;

    fn scope(failed: bool) -> Scope {
        let inputs = [("name".to_owned(), "x".to_owned())];
        let mut s = Scope::new().with("inputs", string_map(inputs.iter().map(|(a, b)| (a, b))));
        s.failed = failed;
        s
    }

    fn render(text: &str) -> String {
        Template::parse(text)
            .and_then(|t| t.eval_string(&scope(false)))
            .unwrap_or_else(|e| format!("error: {e}"))
    }

    #[test]
    fn interpolates_expressions_in_text() {
        assert_eq!(render("a ${{ inputs.name }} b ${{1}}"), "a x b 1");
        assert_eq!(render("no expressions"), "no expressions");
        assert_eq!(render("${{ '}}' }}"), "}}");
        assert_eq!(render("${{ format('{0}}}', 'a') }}"), "a}");
        assert_eq!(render("$${{ inputs.name }}"), "$x");
        insta::assert_snapshot!(render("open ${{ inputs.name"), @"error: Unclosed expression: '}}' not found (expression: open ${{ inputs.name)");
    }

    #[test]
    fn knows_which_contexts_it_reads() {
        let t = Template::parse_in(
            "build ${{ format('{0}', matrix.os) }}",
            crate::expr::Dialect::WORKFLOW,
        )
        .unwrap();
        assert!(t.mentions("matrix"));
        assert!(!t.mentions("inputs"));
        assert!(!Template::parse("plain").unwrap().mentions("matrix"));
    }

    #[test]
    fn a_lone_expression_keeps_its_type() {
        let t = Template::parse("${{ 1 == 1 }}").unwrap();
        assert!(matches!(t.eval(&scope(false)).unwrap(), Value::Bool(true)));
        let t = Template::parse(" ${{ 1 == 1 }}").unwrap();
        assert!(matches!(t.eval(&scope(false)).unwrap(), Value::String(s) if s == " true"));
    }

    #[test]
    fn conditions_get_an_implicit_success() {
        let check = |text: &str, failed: bool| {
            Condition::parse(text, true)
                .unwrap()
                .eval(&scope(failed))
                .unwrap()
        };
        assert!(check("", false));
        assert!(!check("", true));
        assert!(check("inputs.name == 'x'", false));
        assert!(!check("inputs.name == 'x'", true), "implicit success()");
        assert!(check("${{ inputs.name == 'x' }}", false));
        assert!(check("always() && inputs.name == 'x'", true));
        assert!(check("failure()", true));
        assert!(!check("${{ failure() }}", false));
        // Without the implicit success (output values, nested defaults) the condition stands alone.
        assert!(
            Condition::parse("inputs.name", false)
                .unwrap()
                .eval(&scope(true))
                .unwrap()
        );
    }

    #[test]
    fn conditions_refuse_text_around_expressions() {
        insta::assert_snapshot!(
            Condition::parse("${{ inputs.name }} == 'x'", true).unwrap_err(),
            @"An 'if:' condition must be a single expression; text mixed with '${{ }}' always evaluates to true on GitHub and is refused (expression: ${{ inputs.name }} == 'x')"
        );
    }
}
