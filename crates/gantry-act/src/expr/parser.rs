//! Pratt parser from tokens to an expression tree.

use super::ExprError;
use super::lexer::{Spanned, Token, tokenize};
use super::value::Value;

/// The contexts a composite action can read. Others (`secrets`, `matrix`, `needs`, …) are refused.
pub const CONTEXTS: [&str; 5] = ["github", "inputs", "steps", "env", "runner"];

/// The contexts a workflow can read somewhere. Which one is available where is checked when the
/// expression is evaluated (GitHub's parser checks it per key; `scripts/lint-actions` runs it).
pub const WORKFLOW_CONTEXTS: [&str; 12] = [
    "github", "inputs", "steps", "env", "runner", "vars", "secrets", "needs", "matrix", "strategy",
    "job", "jobs",
];

/// What a file kind allows in its expressions: the context names, and whether `hashFiles` is
/// known (it needs a workspace, which only workflow steps have here).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dialect {
    pub contexts: &'static [&'static str],
    pub hash_files: bool,
}

impl Dialect {
    /// `action.yml`: see [`CONTEXTS`].
    pub const ACTION: Dialect = Dialect {
        contexts: &CONTEXTS,
        hash_files: false,
    };
    /// A workflow file: see [`WORKFLOW_CONTEXTS`].
    pub const WORKFLOW: Dialect = Dialect {
        contexts: &WORKFLOW_CONTEXTS,
        hash_files: true,
    };
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    Format,
    Contains,
    StartsWith,
    EndsWith,
    Join,
    FromJson,
    ToJson,
    HashFiles,
    Success,
    Failure,
    Always,
    Cancelled,
}

impl Function {
    /// Function, minimum and maximum argument counts.
    fn lookup(name: &str) -> Option<(Function, usize, usize)> {
        let f = match name.to_ascii_lowercase().as_str() {
            "format" => (Function::Format, 1, usize::MAX),
            "contains" => (Function::Contains, 2, 2),
            "startswith" => (Function::StartsWith, 2, 2),
            "endswith" => (Function::EndsWith, 2, 2),
            "join" => (Function::Join, 1, 2),
            "fromjson" => (Function::FromJson, 1, 1),
            "tojson" => (Function::ToJson, 1, 1),
            "hashfiles" => (Function::HashFiles, 1, usize::MAX),
            "success" => (Function::Success, 0, 0),
            "failure" => (Function::Failure, 0, 0),
            "always" => (Function::Always, 0, 0),
            "cancelled" => (Function::Cancelled, 0, 0),
            _ => return None,
        };
        Some(f)
    }

    pub fn is_status(self) -> bool {
        matches!(
            self,
            Function::Success | Function::Failure | Function::Always | Function::Cancelled
        )
    }
}

#[derive(Debug, Clone)]
pub enum Expr {
    Literal(Value),
    /// A context name, lower-cased.
    Context(String),
    Property(Box<Expr>, String),
    Index(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Compare(CmpOp, Box<Expr>, Box<Expr>),
    Call(Function, Vec<Expr>),
    /// `x.*` or `x[*]`: the values of an object or the items of an array, as an array.
    Filter(Box<Expr>),
    /// `.name` after a filter: `name` of each item that has one.
    Project(Box<Expr>, String),
}

impl Expr {
    /// Whether the context `name` (lower-case) is read anywhere.
    pub fn mentions(&self, name: &str) -> bool {
        match self {
            Expr::Literal(_) => false,
            Expr::Context(c) => c == name,
            Expr::Property(e, _) | Expr::Not(e) | Expr::Filter(e) | Expr::Project(e, _) => {
                e.mentions(name)
            }
            Expr::Index(a, b) | Expr::And(a, b) | Expr::Or(a, b) | Expr::Compare(_, a, b) => {
                a.mentions(name) || b.mentions(name)
            }
            Expr::Call(_, args) => args.iter().any(|a| a.mentions(name)),
        }
    }

    /// Whether a status function is called anywhere: decides the implicit `success() &&`.
    pub fn has_status_call(&self) -> bool {
        match self {
            Expr::Literal(_) | Expr::Context(_) => false,
            Expr::Property(e, _) | Expr::Not(e) | Expr::Filter(e) | Expr::Project(e, _) => {
                e.has_status_call()
            }
            Expr::Index(a, b) | Expr::And(a, b) | Expr::Or(a, b) | Expr::Compare(_, a, b) => {
                a.has_status_call() || b.has_status_call()
            }
            Expr::Call(f, args) => f.is_status() || args.iter().any(Expr::has_status_call),
        }
    }
}

/// Where an expression sits decides whether status functions are allowed (only in `if:`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    Condition,
    Value,
}

/// Parses one expression (the text between `${{` and `}}`, or a bare `if:`).
pub fn parse(src: &str, place: Place) -> Result<Expr, ExprError> {
    parse_in(src, place, Dialect::ACTION)
}

/// Parses one expression with the contexts and functions of `dialect`.
pub fn parse_in(src: &str, place: Place, dialect: Dialect) -> Result<Expr, ExprError> {
    let tokens = tokenize(src)?;
    let mut parser = Parser {
        src,
        tokens,
        next: 0,
        place,
        dialect,
    };
    if parser.tokens.is_empty() {
        return Err(ExprError::new("Expected an expression", src));
    }
    let expr = parser.expr(0)?;
    if let Some(extra) = parser.tokens.get(parser.next) {
        return Err(parser.unexpected(extra));
    }
    Ok(expr)
}

struct Parser<'a> {
    src: &'a str,
    tokens: Vec<Spanned>,
    next: usize,
    place: Place,
    dialect: Dialect,
}

const NOT_BP: u8 = 9;

fn infix_bp(token: &Token) -> Option<(u8, u8)> {
    match token {
        Token::Or => Some((1, 2)),
        Token::And => Some((3, 4)),
        Token::Eq | Token::Ne => Some((5, 6)),
        Token::Lt | Token::Le | Token::Gt | Token::Ge => Some((7, 8)),
        _ => None,
    }
}

impl Parser<'_> {
    fn bump(&mut self) -> Option<Spanned> {
        let t = self.tokens.get(self.next).cloned();
        self.next += 1;
        t
    }

    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.next).map(|t| &t.token)
    }

    fn unexpected(&self, t: &Spanned) -> ExprError {
        ExprError::at(
            format!("Unexpected symbol: '{}'", describe(&t.token)),
            t.pos,
            self.src,
        )
    }

    fn end(&self) -> ExprError {
        ExprError::new("Unexpected end of expression", self.src)
    }

    fn expect(&mut self, want: &Token) -> Result<(), ExprError> {
        match self.bump() {
            Some(t) if &t.token == want => Ok(()),
            Some(t) => Err(self.unexpected(&t)),
            None => Err(self.end()),
        }
    }

    fn expr(&mut self, min_bp: u8) -> Result<Expr, ExprError> {
        let first = self.bump().ok_or_else(|| self.end())?;
        let mut lhs = match first.token {
            Token::Not => Expr::Not(Box::new(self.expr(NOT_BP)?)),
            Token::LParen => {
                let inner = self.expr(0)?;
                self.expect(&Token::RParen)?;
                inner
            }
            Token::Null => Expr::Literal(Value::Null),
            Token::True => Expr::Literal(Value::Bool(true)),
            Token::False => Expr::Literal(Value::Bool(false)),
            Token::Number(n) => Expr::Literal(Value::Number(n)),
            Token::String(ref s) => Expr::Literal(Value::String(s.clone())),
            Token::Ident(ref name) if self.peek() == Some(&Token::LParen) => {
                self.call(name, first.pos)?
            }
            Token::Ident(ref name) => {
                let lower = name.to_ascii_lowercase();
                if !self.dialect.contexts.contains(&lower.as_str()) {
                    return Err(ExprError::at(
                        format!("Unrecognized named-value: '{name}'"),
                        first.pos,
                        self.src,
                    ));
                }
                Expr::Context(lower)
            }
            _ => return Err(self.unexpected(&first)),
        };
        // After a filter, property access applies to each item.
        let mut filtered = false;
        while let Some(op) = self.tokens.get(self.next).cloned() {
            match op.token {
                Token::Dot => {
                    self.next += 1;
                    match self.bump() {
                        Some(Spanned {
                            token: Token::Ident(name),
                            ..
                        }) if filtered => lhs = Expr::Project(Box::new(lhs), name),
                        Some(Spanned {
                            token: Token::Ident(name),
                            ..
                        }) => lhs = Expr::Property(Box::new(lhs), name),
                        Some(Spanned {
                            token: Token::Star, ..
                        }) => {
                            lhs = Expr::Filter(Box::new(lhs));
                            filtered = true;
                        }
                        Some(t) => return Err(self.unexpected(&t)),
                        None => return Err(self.end()),
                    }
                }
                Token::LBracket => {
                    self.next += 1;
                    if let Some(Token::Star) = self.peek() {
                        self.next += 1;
                        self.expect(&Token::RBracket)?;
                        lhs = Expr::Filter(Box::new(lhs));
                        filtered = true;
                        continue;
                    }
                    let index = self.expr(0)?;
                    self.expect(&Token::RBracket)?;
                    lhs = Expr::Index(Box::new(lhs), Box::new(index));
                }
                ref t => {
                    let Some((l_bp, r_bp)) = infix_bp(t) else {
                        break;
                    };
                    if l_bp < min_bp {
                        break;
                    }
                    self.next += 1;
                    let rhs = Box::new(self.expr(r_bp)?);
                    let lhs_box = Box::new(lhs);
                    lhs = match t {
                        Token::Or => Expr::Or(lhs_box, rhs),
                        Token::And => Expr::And(lhs_box, rhs),
                        Token::Eq => Expr::Compare(CmpOp::Eq, lhs_box, rhs),
                        Token::Ne => Expr::Compare(CmpOp::Ne, lhs_box, rhs),
                        Token::Lt => Expr::Compare(CmpOp::Lt, lhs_box, rhs),
                        Token::Le => Expr::Compare(CmpOp::Le, lhs_box, rhs),
                        Token::Gt => Expr::Compare(CmpOp::Gt, lhs_box, rhs),
                        _ => Expr::Compare(CmpOp::Ge, lhs_box, rhs),
                    };
                }
            }
        }
        Ok(lhs)
    }

    fn call(&mut self, name: &str, pos: usize) -> Result<Expr, ExprError> {
        let known = Function::lookup(name).filter(|(f, ..)| {
            // The runner only knows status functions in conditions.
            (!f.is_status() || self.place == Place::Condition)
                && (*f != Function::HashFiles || self.dialect.hash_files)
        });
        let Some((function, min, max)) = known else {
            let message = if name.eq_ignore_ascii_case("hashFiles") {
                "Function 'hashFiles' is not supported by gantry-act".to_owned()
            } else {
                format!("Unrecognized function: '{name}'")
            };
            return Err(ExprError::at(message, pos, self.src));
        };
        self.expect(&Token::LParen)?;
        let mut args = Vec::new();
        if self.peek() == Some(&Token::RParen) {
            self.next += 1;
        } else {
            loop {
                args.push(self.expr(0)?);
                match self.bump() {
                    Some(Spanned {
                        token: Token::Comma,
                        ..
                    }) => {}
                    Some(Spanned {
                        token: Token::RParen,
                        ..
                    }) => break,
                    Some(t) => return Err(self.unexpected(&t)),
                    None => return Err(self.end()),
                }
            }
        }
        if args.len() < min {
            return Err(ExprError::at(
                format!("Too few parameters supplied: '{name}'"),
                pos,
                self.src,
            ));
        }
        if args.len() > max {
            return Err(ExprError::at(
                format!("Too many parameters supplied: '{name}'"),
                pos,
                self.src,
            ));
        }
        Ok(Expr::Call(function, args))
    }
}

fn describe(token: &Token) -> String {
    match token {
        Token::LParen => "(".into(),
        Token::RParen => ")".into(),
        Token::LBracket => "[".into(),
        Token::RBracket => "]".into(),
        Token::Comma => ",".into(),
        Token::Dot => ".".into(),
        Token::Star => "*".into(),
        Token::Not => "!".into(),
        Token::And => "&&".into(),
        Token::Or => "||".into(),
        Token::Eq => "==".into(),
        Token::Ne => "!=".into(),
        Token::Lt => "<".into(),
        Token::Le => "<=".into(),
        Token::Gt => ">".into(),
        Token::Ge => ">=".into(),
        Token::Null => "null".into(),
        Token::True => "true".into(),
        Token::False => "false".into(),
        Token::Number(n) => super::value::number_to_string(*n),
        Token::String(s) => format!("'{}'", s.replace('\'', "''")),
        Token::Ident(s) => s.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(src: &str) -> String {
        parse(src, Place::Value).unwrap_err().to_string()
    }

    #[test]
    fn precedence_binds_comparison_over_equality_over_and_over_or() {
        let e = parse("inputs.a || inputs.b && inputs.c == 1 < 2", Place::Value).unwrap();
        let Expr::Or(_, rhs) = e else { panic!("{e:?}") };
        let Expr::And(_, rhs) = *rhs else {
            panic!("{rhs:?}")
        };
        let Expr::Compare(CmpOp::Eq, _, rhs) = *rhs else {
            panic!("{rhs:?}")
        };
        assert!(matches!(*rhs, Expr::Compare(CmpOp::Lt, ..)));
    }

    #[test]
    fn not_binds_tighter_than_comparison() {
        let e = parse("!inputs.a == false", Place::Value).unwrap();
        assert!(matches!(e, Expr::Compare(CmpOp::Eq, lhs, _) if matches!(*lhs, Expr::Not(_))));
    }

    #[test]
    fn names_are_case_insensitive() {
        assert!(matches!(
            parse("GitHub.sha", Place::Value).unwrap(),
            Expr::Property(ctx, _) if matches!(&*ctx, Expr::Context(c) if c == "github")
        ));
        assert!(matches!(
            parse("ToJSON(inputs)", Place::Value).unwrap(),
            Expr::Call(Function::ToJson, _)
        ));
    }

    #[test]
    fn status_functions_are_conditions_only() {
        assert!(
            parse("success() && inputs.a", Place::Condition)
                .unwrap()
                .has_status_call()
        );
        assert!(
            !parse("inputs.a", Place::Condition)
                .unwrap()
                .has_status_call()
        );
        assert_eq!(
            err("always()"),
            "Unrecognized function: 'always'. Located at position 1 within expression: always()"
        );
    }

    #[test]
    fn filters_project_the_rest_of_the_chain() {
        let e = parse("steps.*.outcome", Place::Value).unwrap();
        assert!(
            matches!(&e, Expr::Project(inner, name) if name == "outcome" && matches!(**inner, Expr::Filter(_)))
        );
        assert!(matches!(
            parse("steps[*]", Place::Value).unwrap(),
            Expr::Filter(_)
        ));
    }

    #[test]
    fn workflow_dialect_knows_more_contexts_and_hash_files() {
        let w = |src: &str| parse_in(src, Place::Value, Dialect::WORKFLOW);
        assert!(w("secrets.TOKEN").is_ok());
        assert!(w("needs.build.outputs.x").is_ok());
        assert!(w("hashFiles('a', 'b')").is_ok());
        insta::assert_snapshot!(w("services.db").unwrap_err(), @"Unrecognized named-value: 'services'. Located at position 1 within expression: services.db");
    }

    #[test]
    fn errors_name_the_problem() {
        insta::assert_snapshot!(err("secrets.TOKEN"), @"Unrecognized named-value: 'secrets'. Located at position 1 within expression: secrets.TOKEN");
        insta::assert_snapshot!(err("frobnicate(1)"), @"Unrecognized function: 'frobnicate'. Located at position 1 within expression: frobnicate(1)");
        insta::assert_snapshot!(err("hashFiles('**')"), @"Function 'hashFiles' is not supported by gantry-act. Located at position 1 within expression: hashFiles('**')");
        insta::assert_snapshot!(err("contains('a')"), @"Too few parameters supplied: 'contains'. Located at position 1 within expression: contains('a')");
        insta::assert_snapshot!(err("toJSON(1, 2)"), @"Too many parameters supplied: 'toJSON'. Located at position 1 within expression: toJSON(1, 2)");
        insta::assert_snapshot!(err("inputs.a inputs.b"), @"Unexpected symbol: 'inputs'. Located at position 10 within expression: inputs.a inputs.b");
        insta::assert_snapshot!(err("(1"), @"Unexpected end of expression (expression: (1)");
        insta::assert_snapshot!(err(""), @"Expected an expression (expression: )");
        insta::assert_snapshot!(err("1 ==="), @"Unexpected symbol: '='. Located at position 5 within expression: 1 ===");
    }
}
