//! Tokenizer for GitHub expressions.

use super::ExprError;
use super::value::parse_number;

#[derive(Debug, Clone, PartialEq)]
pub enum Token {
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Dot,
    Star,
    Not,
    And,
    Or,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Null,
    True,
    False,
    Number(f64),
    String(String),
    Ident(String),
}

/// A token and the 1-based position where it starts, for error messages like the runner's.
#[derive(Debug, Clone, PartialEq)]
pub struct Spanned {
    pub token: Token,
    pub pos: usize,
}

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

/// Splits `src` into tokens.
pub fn tokenize(src: &str) -> Result<Vec<Spanned>, ExprError> {
    let chars: Vec<char> = src.chars().collect();
    let mut out: Vec<Spanned> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let pos = i + 1;
        let err = |msg: String| ExprError::at(msg, pos, src);
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        // A `.` right after a value is property access; anywhere else it starts a number (`.5`).
        let after_value = matches!(
            out.last().map(|t| &t.token),
            Some(Token::Ident(_) | Token::RParen | Token::RBracket | Token::Star)
        );
        let two = |a: char, b: char| c == a && chars.get(i + 1) == Some(&b);
        let (token, len) = if two('&', '&') {
            (Token::And, 2)
        } else if two('|', '|') {
            (Token::Or, 2)
        } else if two('=', '=') {
            (Token::Eq, 2)
        } else if two('!', '=') {
            (Token::Ne, 2)
        } else if two('<', '=') {
            (Token::Le, 2)
        } else if two('>', '=') {
            (Token::Ge, 2)
        } else {
            match c {
                '(' => (Token::LParen, 1),
                ')' => (Token::RParen, 1),
                '[' => (Token::LBracket, 1),
                ']' => (Token::RBracket, 1),
                ',' => (Token::Comma, 1),
                '*' => (Token::Star, 1),
                '!' => (Token::Not, 1),
                '<' => (Token::Lt, 1),
                '>' => (Token::Gt, 1),
                '.' if after_value => (Token::Dot, 1),
                '\'' => {
                    let mut s = String::new();
                    let mut j = i + 1;
                    loop {
                        match chars.get(j) {
                            None => {
                                return Err(err("Unterminated string literal".to_owned()));
                            }
                            Some('\'') if chars.get(j + 1) == Some(&'\'') => {
                                s.push('\'');
                                j += 2;
                            }
                            Some('\'') => break,
                            Some(ch) => {
                                s.push(*ch);
                                j += 1;
                            }
                        }
                    }
                    (Token::String(s), j + 1 - i)
                }
                _ if c.is_ascii_digit()
                    || c == '.'
                    || ((c == '-' || c == '+')
                        && chars
                            .get(i + 1)
                            .is_some_and(|n| n.is_ascii_digit() || *n == '.' || *n == 'I')) =>
                {
                    let mut j = i + 1;
                    while let Some(&n) = chars.get(j) {
                        let exponent_sign = (n == '+' || n == '-')
                            && matches!(chars[j - 1], 'e' | 'E')
                            && !chars[i..j].contains(&'x');
                        if n.is_ascii_alphanumeric() || n == '.' || exponent_sign {
                            j += 1;
                        } else {
                            break;
                        }
                    }
                    let text: String = chars[i..j].iter().collect();
                    let n = parse_number(&text)
                        .ok_or_else(|| err(format!("Unexpected symbol: '{text}'")))?;
                    (Token::Number(n), j - i)
                }
                _ if is_ident_start(c) => {
                    let mut j = i + 1;
                    while chars.get(j).is_some_and(|n| is_ident_char(*n)) {
                        j += 1;
                    }
                    let word: String = chars[i..j].iter().collect();
                    // Keywords are case-sensitive; a property name after `.` may be any word.
                    let token = match word.as_str() {
                        _ if matches!(out.last().map(|t| &t.token), Some(Token::Dot)) => {
                            Token::Ident(word)
                        }
                        "true" => Token::True,
                        "false" => Token::False,
                        "null" => Token::Null,
                        "NaN" => Token::Number(f64::NAN),
                        "Infinity" => Token::Number(f64::INFINITY),
                        _ => Token::Ident(word),
                    };
                    (token, j - i)
                }
                _ => {
                    return Err(err(format!("Unexpected symbol: '{c}'")));
                }
            }
        };
        out.push(Spanned { token, pos });
        i += len;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<Token> {
        tokenize(src)
            .unwrap()
            .into_iter()
            .map(|t| t.token)
            .collect()
    }

    #[test]
    fn operators_and_punctuation() {
        assert_eq!(
            kinds("!a && (b || c) == d != e < f <= g > h >= i[0], *"),
            vec![
                Token::Not,
                Token::Ident("a".into()),
                Token::And,
                Token::LParen,
                Token::Ident("b".into()),
                Token::Or,
                Token::Ident("c".into()),
                Token::RParen,
                Token::Eq,
                Token::Ident("d".into()),
                Token::Ne,
                Token::Ident("e".into()),
                Token::Lt,
                Token::Ident("f".into()),
                Token::Le,
                Token::Ident("g".into()),
                Token::Gt,
                Token::Ident("h".into()),
                Token::Ge,
                Token::Ident("i".into()),
                Token::LBracket,
                Token::Number(0.0),
                Token::RBracket,
                Token::Comma,
                Token::Star,
            ]
        );
    }

    #[test]
    fn strings_escape_quotes_by_doubling() {
        assert_eq!(kinds("'it''s'"), vec![Token::String("it's".into())]);
        assert_eq!(kinds("''"), vec![Token::String(String::new())]);
        assert!(tokenize("'open").is_err());
    }

    #[test]
    fn numbers_in_all_forms() {
        let mut got = kinds("1 -2 3.5 .5 0xff 0o10 1e3 2.5E-2 -Infinity NaN");
        assert!(matches!(got.pop(), Some(Token::Number(n)) if n.is_nan()));
        assert_eq!(
            got,
            [
                1.0,
                -2.0,
                3.5,
                0.5,
                255.0,
                8.0,
                1000.0,
                0.025,
                f64::NEG_INFINITY
            ]
            .map(Token::Number)
            .to_vec()
        );
        let err = tokenize("12abc").unwrap_err();
        assert_eq!(
            err.to_string(),
            "Unexpected symbol: '12abc'. Located at position 1 within expression: 12abc"
        );
    }

    #[test]
    fn identifiers_keep_dashes_and_dot_after_value_is_access() {
        assert_eq!(
            kinds("steps.my-step.outputs.true"),
            vec![
                Token::Ident("steps".into()),
                Token::Dot,
                Token::Ident("my-step".into()),
                Token::Dot,
                Token::Ident("outputs".into()),
                Token::Dot,
                Token::Ident("true".into()),
            ]
        );
        assert_eq!(kinds("True"), vec![Token::Ident("True".into())]);
        assert!(tokenize("a = b").is_err());
        assert!(tokenize("a & b").is_err());
    }
}
