//! Evaluation of expression trees and the built-in functions.

use std::cmp::Ordering;
use std::rc::Rc;

use indexmap::IndexMap;

use super::ExprError;
use super::parser::{CmpOp, Expr, Function};
use super::value::Value;

/// What an expression can see: the contexts available at that place, and the action's status
/// for `success()` / `failure()`.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    contexts: IndexMap<String, Value>,
    /// Whether an earlier step failed (without `continue-on-error`), or for a job's `if:`, a
    /// job it needs (at any depth) failed.
    pub failed: bool,
    /// For a job's `if:`: a job it needs (at any depth) did not succeed, so `success()` is false
    /// even though `failure()` may be false too (a skipped job).
    pub blocked: bool,
    /// Where `hashFiles` looks (`GITHUB_WORKSPACE`); without it, `hashFiles` is an error.
    pub workspace: Option<std::path::PathBuf>,
}

impl Scope {
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes a context available under `name` (lower-case).
    pub fn with(mut self, name: &str, value: Value) -> Self {
        self.contexts.insert(name.to_owned(), value);
        self
    }

    pub fn set(&mut self, name: &str, value: Value) {
        self.contexts.insert(name.to_owned(), value);
    }

    /// Evaluates `expr`; `src` is its text, for error messages.
    pub fn eval(&self, expr: &Expr, src: &str) -> Result<Value, ExprError> {
        Ok(match expr {
            Expr::Literal(v) => v.clone(),
            Expr::Context(name) => self.contexts.get(name).cloned().ok_or_else(|| {
                ExprError::new(format!("Context '{name}' is not available here"), src)
            })?,
            Expr::Property(target, name) => self.eval(target, src)?.get(name),
            Expr::Index(target, index) => {
                let target = self.eval(target, src)?;
                target.index(&self.eval(index, src)?)
            }
            Expr::Not(e) => Value::Bool(!self.eval(e, src)?.is_truthy()),
            // `&&` and `||` return an operand, not a boolean, as in JavaScript.
            Expr::And(a, b) => {
                let a = self.eval(a, src)?;
                if a.is_truthy() { self.eval(b, src)? } else { a }
            }
            Expr::Or(a, b) => {
                let a = self.eval(a, src)?;
                if a.is_truthy() { a } else { self.eval(b, src)? }
            }
            Expr::Compare(op, a, b) => {
                let (a, b) = (self.eval(a, src)?, self.eval(b, src)?);
                let ord = a.loose_cmp(&b);
                Value::Bool(match op {
                    CmpOp::Eq => a.loose_eq(&b),
                    CmpOp::Ne => !a.loose_eq(&b),
                    CmpOp::Lt => ord == Some(Ordering::Less),
                    CmpOp::Le => matches!(ord, Some(Ordering::Less | Ordering::Equal)),
                    CmpOp::Gt => ord == Some(Ordering::Greater),
                    CmpOp::Ge => matches!(ord, Some(Ordering::Greater | Ordering::Equal)),
                })
            }
            Expr::Filter(target) => {
                let flatten = matches!(**target, Expr::Filter(_) | Expr::Project(..));
                filter(&self.eval(target, src)?, flatten)
            }
            Expr::Project(target, name) => match self.eval(target, src)? {
                Value::Array(items) => Value::Array(Rc::new(
                    items
                        .iter()
                        .map(|item| item.get(name))
                        .filter(|v| !matches!(v, Value::Null))
                        .collect(),
                )),
                _ => Value::Array(Rc::new(Vec::new())),
            },
            Expr::Call(f, args) => {
                let args = args
                    .iter()
                    .map(|a| self.eval(a, src))
                    .collect::<Result<Vec<_>, _>>()?;
                self.call(*f, &args, src)?
            }
        })
    }

    fn call(&self, f: Function, args: &[Value], src: &str) -> Result<Value, ExprError> {
        let arg = |i: usize| args.get(i).cloned().unwrap_or(Value::Null);
        Ok(match f {
            Function::Success => Value::Bool(!self.failed && !self.blocked),
            Function::Failure => Value::Bool(self.failed),
            Function::Always => Value::Bool(true),
            // Nothing cancels a local run.
            Function::Cancelled => Value::Bool(false),
            Function::Format => Value::String(format(args, src)?),
            Function::Contains => {
                let (haystack, needle) = (arg(0), arg(1));
                Value::Bool(match &haystack {
                    Value::Array(items) => items.iter().any(|item| item.loose_eq(&needle)),
                    _ if haystack.is_primitive() && needle.is_primitive() => {
                        upper(&haystack).contains(&upper(&needle))
                    }
                    _ => false,
                })
            }
            Function::StartsWith | Function::EndsWith => {
                let (s, affix) = (arg(0), arg(1));
                Value::Bool(
                    s.is_primitive()
                        && affix.is_primitive()
                        && if f == Function::StartsWith {
                            upper(&s).starts_with(&upper(&affix))
                        } else {
                            upper(&s).ends_with(&upper(&affix))
                        },
                )
            }
            Function::Join => {
                let separator = if args.len() > 1 {
                    arg(1).to_expr_string()
                } else {
                    ",".to_owned()
                };
                match arg(0) {
                    Value::Array(items) => Value::String(
                        items
                            .iter()
                            // The runner joins only primitive items; others become empty.
                            .map(|i| {
                                if i.is_primitive() {
                                    i.to_expr_string()
                                } else {
                                    String::new()
                                }
                            })
                            .collect::<Vec<_>>()
                            .join(&separator),
                    ),
                    v if v.is_primitive() => Value::String(v.to_expr_string()),
                    _ => Value::String(String::new()),
                }
            }
            Function::ToJson => Value::String(arg(0).to_json_pretty()),
            Function::HashFiles => {
                let Some(root) = &self.workspace else {
                    return Err(ExprError::new("hashFiles is not available here", src));
                };
                let patterns: Vec<String> = args.iter().map(Value::to_expr_string).collect();
                Value::String(
                    crate::glob::hash_files(root, &patterns)
                        .map_err(|e| ExprError::new(format!("hashFiles: {e}"), src))?,
                )
            }
            Function::FromJson => {
                let text = arg(0).to_expr_string();
                let json: serde_json::Value = serde_json::from_str(&text)
                    .map_err(|e| ExprError::new(format!("Error parsing fromJson: {e}"), src))?;
                Value::from_json(&json)
            }
        })
    }
}

/// `x.*`: an object's values or an array's items; after another filter, one level flattened.
fn filter(v: &Value, flatten: bool) -> Value {
    let items: Vec<Value> = match v {
        Value::Object(map) if !flatten => map.values().cloned().collect(),
        Value::Array(items) if !flatten => items.to_vec(),
        Value::Array(items) => items
            .iter()
            .flat_map(|item| match item {
                Value::Object(map) => map.values().cloned().collect::<Vec<_>>(),
                Value::Array(inner) => inner.to_vec(),
                _ => Vec::new(),
            })
            .collect(),
        _ => Vec::new(),
    };
    Value::Array(Rc::new(items))
}

fn upper(v: &Value) -> String {
    v.to_expr_string().to_uppercase()
}

/// `format('{0} and {{literal}}', x)`.
fn format(args: &[Value], src: &str) -> Result<String, ExprError> {
    let Some((fmt, rest)) = args.split_first() else {
        return Ok(String::new());
    };
    let fmt = fmt.to_expr_string();
    let invalid = || {
        ExprError::new(
            format!("The following format string is invalid: {fmt}"),
            src,
        )
    };
    let mut out = String::new();
    let mut chars = fmt.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                out.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                out.push('}');
            }
            '{' => {
                let mut digits = String::new();
                loop {
                    match chars.next() {
                        Some('}') => break,
                        Some(d) if d.is_ascii_digit() => digits.push(d),
                        _ => return Err(invalid()),
                    }
                }
                let index: usize = digits.parse().map_err(|_| invalid())?;
                let value = rest.get(index).ok_or_else(|| {
                    ExprError::new(
                        format!(
                            "The following format string references more arguments than were supplied: {fmt}"
                        ),
                        src,
                    )
                })?;
                out.push_str(&value.to_expr_string());
            }
            '}' => return Err(invalid()),
            c => out.push(c),
        }
    }
    Ok(out)
}

/// Builds an object value from string pairs (inputs, env, outputs).
pub fn string_map<'a>(pairs: impl IntoIterator<Item = (&'a String, &'a String)>) -> Value {
    Value::Object(Rc::new(
        pairs
            .into_iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::parser::{Place, parse};

    fn scope() -> Scope {
        let inputs: Value = [
            ("name".to_owned(), Value::from("World")),
            ("count".to_owned(), Value::from("3")),
            ("empty".to_owned(), Value::from("")),
            (
                "list".to_owned(),
                Value::Array(Rc::new(vec![Value::from("a"), Value::Number(2.0)])),
            ),
        ]
        .into_iter()
        .collect();
        Scope::new()
            .with("inputs", inputs)
            .with("env", Value::object())
    }

    fn eval_in(scope: &Scope, src: &str) -> Result<Value, ExprError> {
        let place = if src.contains("()") {
            Place::Condition
        } else {
            Place::Value
        };
        scope.eval(&parse(src, place)?, src)
    }

    /// Evaluates and shows the result as it would be interpolated.
    fn show(src: &str) -> String {
        match eval_in(&scope(), src) {
            Ok(v) => v.to_expr_string(),
            Err(e) => format!("error: {e}"),
        }
    }

    #[test]
    fn literals_and_coercion_to_string() {
        assert_eq!(show("'it''s'"), "it's");
        assert_eq!(show("null"), "");
        assert_eq!(show("true"), "true");
        assert_eq!(show("1.0"), "1");
        assert_eq!(show("0x10"), "16");
        assert_eq!(show("1.5e1"), "15");
        assert_eq!(show("-0.25"), "-0.25");
        insta::assert_snapshot!(show("inputs.list"), @r#"
        [
          "a",
          2
        ]
        "#);
    }

    #[test]
    fn property_access_is_case_insensitive_and_missing_is_null() {
        assert_eq!(show("inputs.NAME"), "World");
        assert_eq!(show("inputs['name']"), "World");
        assert_eq!(show("inputs.list[1]"), "2");
        assert_eq!(show("inputs.list[5] == null"), "true");
        assert_eq!(show("inputs.missing.deeper == null"), "true");
        assert_eq!(show("inputs.name.length"), "");
    }

    #[test]
    fn and_or_return_operands() {
        assert_eq!(show("inputs.empty || 'fallback'"), "fallback");
        assert_eq!(show("inputs.name || 'fallback'"), "World");
        assert_eq!(show("inputs.name && inputs.count"), "3");
        assert_eq!(show("inputs.empty && inputs.count"), "");
        assert_eq!(show("!inputs.empty"), "true");
        assert_eq!(show("!(inputs.name == 'world')"), "false");
    }

    #[test]
    fn comparisons_use_loose_rules() {
        assert_eq!(show("inputs.count == 3"), "true");
        assert_eq!(show("inputs.count > 2"), "true");
        assert_eq!(
            show("inputs.count >= '10'"),
            "true",
            "string vs string is textual"
        );
        assert_eq!(show("inputs.count >= 10"), "false");
        assert_eq!(show("'abc' < 'ABD'"), "true");
        assert_eq!(show("inputs.name != 'WORLD'"), "false");
        assert_eq!(show("true == 1"), "true");
        assert_eq!(show("'true' == true"), "false");
        assert_eq!(show("null == 0"), "true");
        assert_eq!(show("'x' < 1"), "false");
        assert_eq!(show("'x' >= 1"), "false");
        assert_eq!(show("inputs == inputs"), "true");
        assert_eq!(show("inputs.list <= inputs.list"), "false");
    }

    #[test]
    fn functions() {
        assert_eq!(
            show("format('{0}, {1}! {{x}}', 'Hello', inputs.name)"),
            "Hello, World! {x}"
        );
        assert_eq!(show("contains('Hello World', 'WORLD')"), "true");
        assert_eq!(show("contains(inputs.list, 'A')"), "true");
        assert_eq!(show("contains(inputs.list, '2')"), "true");
        assert_eq!(show("contains(inputs.list, 'b')"), "false");
        assert_eq!(show("contains(inputs, 'name')"), "false");
        assert_eq!(show("startsWith('refs/heads/main', 'REFS/')"), "true");
        assert_eq!(show("endsWith('file.tar.gz', '.GZ')"), "true");
        assert_eq!(show("endsWith(inputs, 'x')"), "false");
        assert_eq!(show("join(inputs.list)"), "a,2");
        assert_eq!(show("join(inputs.list, ' + ')"), "a + 2");
        assert_eq!(show("join('solo', '-')"), "solo");
        assert_eq!(show("fromJSON('{\"a\":[1,true,null]}').a[1]"), "true");
        assert_eq!(show("fromJson(' 42 ') == 42"), "true");
        assert_eq!(show("toJSON('x')"), "\"x\"");
        assert_eq!(show("toJSON(fromJSON('{}'))"), "{}");
        assert_eq!(show("toJSON(1.5)"), "1.5");
    }

    #[test]
    fn function_errors() {
        insta::assert_snapshot!(show("format('{0} {1}', 'a')"), @"error: The following format string references more arguments than were supplied: {0} {1} (expression: format('{0} {1}', 'a'))");
        insta::assert_snapshot!(show("format('{x}')"), @"error: The following format string is invalid: {x} (expression: format('{x}'))");
        insta::assert_snapshot!(show("format('a}b')"), @"error: The following format string is invalid: a}b (expression: format('a}b'))");
        insta::assert_snapshot!(show("fromJSON('{')"), @"error: Error parsing fromJson: EOF while parsing an object at line 1 column 1 (expression: fromJSON('{'))");
        insta::assert_snapshot!(show("steps.x.outputs.y"), @"error: Context 'steps' is not available here (expression: steps.x.outputs.y)");
    }

    #[test]
    fn filters_collect_values_and_project_properties() {
        let s = scope().with(
            "needs",
            Value::from_json(&serde_json::json!({
                "a": {"result": "success", "outputs": {"x": "1"}},
                "b": {"result": "failure", "outputs": {}},
            })),
        );
        let show = |src: &str| {
            let e =
                crate::expr::parser::parse_in(src, Place::Value, crate::expr::Dialect::WORKFLOW)
                    .unwrap();
            s.eval(&e, src).unwrap().to_json().to_string()
        };
        assert_eq!(show("needs.*.result"), r#"["success","failure"]"#);
        assert_eq!(show("needs.*.outputs.x"), r#"["1"]"#);
        assert_eq!(show("needs.*.outputs.*"), r#"["1"]"#);
        assert_eq!(show("contains(needs.*.result, 'failure')"), "true");
        assert_eq!(show("inputs.name.*"), "[]");
    }

    #[test]
    fn hash_files_needs_a_workspace() {
        let src = "hashFiles('*.txt')";
        let e = crate::expr::parser::parse_in(
            src,
            Place::Value,
            crate::expr::parser::Dialect::WORKFLOW,
        )
        .unwrap();
        insta::assert_snapshot!(scope().eval(&e, src).unwrap_err(), @"hashFiles is not available here (expression: hashFiles('*.txt'))");
        let dir = tempfile::tempdir().unwrap();
        let mut s = scope();
        s.workspace = Some(dir.path().to_owned());
        assert_eq!(
            s.eval(&e, src).unwrap().to_expr_string(),
            "",
            "no files: empty"
        );
        std::fs::write(dir.path().join("a.txt"), "a").unwrap();
        let one = s.eval(&e, src).unwrap().to_expr_string();
        assert_eq!(one.len(), 64);
        std::fs::write(dir.path().join("a.txt"), "b").unwrap();
        assert_ne!(s.eval(&e, src).unwrap().to_expr_string(), one);
    }

    #[test]
    fn status_functions_follow_the_failed_flag() {
        let mut s = scope();
        let cond = |s: &Scope, src: &str| eval_in(s, src).unwrap().is_truthy();
        assert!(cond(&s, "success()"));
        assert!(!cond(&s, "failure()"));
        assert!(cond(&s, "always()"));
        assert!(!cond(&s, "cancelled()"));
        s.failed = true;
        assert!(!cond(&s, "SUCCESS()"));
        assert!(cond(&s, "failure()"));
        assert!(cond(&s, "always()"));
    }
}
