//! Expression values and GitHub's coercion rules between them.

use std::cmp::Ordering;
use std::rc::Rc;

use indexmap::IndexMap;

/// A value in a GitHub expression.
///
/// Arrays and objects sit behind `Rc` because GitHub compares them by reference: `a == a` is true,
/// two equal-looking objects are not.
#[derive(Debug, Clone)]
pub enum Value {
    Null,
    Bool(bool),
    Number(f64),
    String(String),
    Array(Rc<Vec<Value>>),
    Object(Rc<IndexMap<String, Value>>),
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}

impl FromIterator<(String, Value)> for Value {
    fn from_iter<T: IntoIterator<Item = (String, Value)>>(iter: T) -> Self {
        Value::Object(Rc::new(iter.into_iter().collect()))
    }
}

impl Value {
    /// An empty object.
    pub fn object() -> Self {
        Value::Object(Rc::new(IndexMap::new()))
    }

    /// GitHub's truthiness: `null`, `false`, `0`, `NaN` and `''` are falsy.
    pub fn is_truthy(&self) -> bool {
        match self {
            Value::Null => false,
            Value::Bool(b) => *b,
            Value::Number(n) => *n != 0.0 && !n.is_nan(),
            Value::String(s) => !s.is_empty(),
            Value::Array(_) | Value::Object(_) => true,
        }
    }

    pub fn is_primitive(&self) -> bool {
        !matches!(self, Value::Array(_) | Value::Object(_))
    }

    /// Property lookup; GitHub's dictionaries are case-insensitive.
    pub fn get(&self, key: &str) -> Value {
        match self {
            Value::Object(map) => map
                .get(key)
                .or_else(|| {
                    map.iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case(key))
                        .map(|(_, v)| v)
                })
                .cloned()
                .unwrap_or(Value::Null),
            _ => Value::Null,
        }
    }

    /// `value[index]`: string keys on objects, integral numbers on arrays, `null` otherwise.
    pub fn index(&self, index: &Value) -> Value {
        match self {
            Value::Object(_) if index.is_primitive() => self.get(&index.to_expr_string()),
            Value::Array(items) => {
                let n = index.to_number();
                if n >= 0.0 && n.fract() == 0.0 && n < items.len() as f64 {
                    items[n as usize].clone()
                } else {
                    Value::Null
                }
            }
            _ => Value::Null,
        }
    }

    /// Conversion to number, as the runner does before comparing values of different kinds.
    pub fn to_number(&self) -> f64 {
        match self {
            Value::Null => 0.0,
            Value::Bool(b) => f64::from(u8::from(*b)),
            Value::Number(n) => *n,
            Value::String(s) => parse_number(s.trim()).unwrap_or(f64::NAN),
            Value::Array(_) | Value::Object(_) => f64::NAN,
        }
    }

    /// The string a value becomes when interpolated or passed to a string function.
    ///
    /// Objects and arrays become their `toJSON` text (the runner would refuse them in most places;
    /// JSON is what a test wants to see).
    pub fn to_expr_string(&self) -> String {
        match self {
            Value::Null => String::new(),
            Value::Bool(b) => b.to_string(),
            Value::Number(n) => number_to_string(*n),
            Value::String(s) => s.clone(),
            Value::Array(_) | Value::Object(_) => self.to_json_pretty(),
        }
    }

    /// `toJSON`: two-space indented, like the runner's serializer.
    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(&self.to_json()).unwrap_or_default()
    }

    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Number(n) => {
                // Integral numbers print without `.0`, as GitHub's serializer does.
                if n.fract() == 0.0 && n.abs() < 9.007_199_254_740_992e15 {
                    serde_json::Value::from(*n as i64)
                } else {
                    serde_json::Number::from_f64(*n)
                        .map_or(serde_json::Value::Null, serde_json::Value::Number)
                }
            }
            Value::String(s) => serde_json::Value::String(s.clone()),
            Value::Array(items) => items.iter().map(Value::to_json).collect(),
            Value::Object(map) => serde_json::Value::Object(
                map.iter().map(|(k, v)| (k.clone(), v.to_json())).collect(),
            ),
        }
    }

    pub fn from_json(json: &serde_json::Value) -> Value {
        match json {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => Value::Number(n.as_f64().unwrap_or(f64::NAN)),
            serde_json::Value::String(s) => Value::String(s.clone()),
            serde_json::Value::Array(items) => {
                Value::Array(Rc::new(items.iter().map(Value::from_json).collect()))
            }
            serde_json::Value::Object(map) => map
                .iter()
                .map(|(k, v)| (k.clone(), Value::from_json(v)))
                .collect(),
        }
    }

    /// `==` with GitHub's loose rules: strings compare case-insensitively, mismatched kinds are
    /// converted to numbers, arrays and objects only equal themselves.
    pub fn loose_eq(&self, other: &Value) -> bool {
        match coerce(self, other) {
            (Value::Null, Value::Null) => true,
            (Value::Number(a), Value::Number(b)) => a == b,
            (Value::String(a), Value::String(b)) => fold(&a) == fold(&b),
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Array(a), Value::Array(b)) => Rc::ptr_eq(&a, &b),
            (Value::Object(a), Value::Object(b)) => Rc::ptr_eq(&a, &b),
            _ => false,
        }
    }

    /// Ordering for `<`, `<=`, `>`, `>=`; `None` when the runner says every comparison is false
    /// (NaN, mismatched kinds after coercion, arrays, objects).
    pub fn loose_cmp(&self, other: &Value) -> Option<Ordering> {
        match coerce(self, other) {
            (Value::Number(a), Value::Number(b)) => a.partial_cmp(&b),
            (Value::String(a), Value::String(b)) => Some(fold(&a).cmp(&fold(&b))),
            (Value::Bool(a), Value::Bool(b)) => Some(a.cmp(&b)),
            (Value::Null, Value::Null) => Some(Ordering::Equal),
            _ => None,
        }
    }
}

/// Upper-casing mirrors the runner's `OrdinalIgnoreCase`.
fn fold(s: &str) -> String {
    s.to_uppercase()
}

/// The runner's `CoerceTypes`: number vs string converts the string; a boolean or null side is
/// converted to a number and the pair is coerced again. Other mismatches stay mismatched.
fn coerce(a: &Value, b: &Value) -> (Value, Value) {
    match (a, b) {
        (Value::Number(_), Value::String(_)) => (a.clone(), Value::Number(b.to_number())),
        (Value::String(_), Value::Number(_)) => (Value::Number(a.to_number()), b.clone()),
        _ if std::mem::discriminant(a) == std::mem::discriminant(b) => (a.clone(), b.clone()),
        (Value::Bool(_) | Value::Null, _) => coerce(&Value::Number(a.to_number()), b),
        (_, Value::Bool(_) | Value::Null) => coerce(a, &Value::Number(b.to_number())),
        _ => (a.clone(), b.clone()),
    }
}

/// Parses a number the way the runner does for literals and string coercion: decimal with an
/// optional sign, fraction and exponent, `0x` hex, `0o` octal, `Infinity`/`NaN`; empty is 0.
pub fn parse_number(s: &str) -> Option<f64> {
    if s.is_empty() {
        return Some(0.0);
    }
    if let Some(hex) = s.strip_prefix("0x") {
        return i64::from_str_radix(hex, 16).ok().map(|n| n as f64);
    }
    if let Some(oct) = s.strip_prefix("0o") {
        return i64::from_str_radix(oct, 8).ok().map(|n| n as f64);
    }
    match s {
        "Infinity" | "+Infinity" => return Some(f64::INFINITY),
        "-Infinity" => return Some(f64::NEG_INFINITY),
        "NaN" => return Some(f64::NAN),
        _ => {}
    }
    // Rust's parser also takes "inf", "nan" and friends; the runner does not.
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let mantissa_ok = !mantissa.is_empty()
        && mantissa != "."
        && mantissa.chars().all(|c| c.is_ascii_digit() || c == '.')
        && mantissa.matches('.').count() <= 1;
    let exponent_ok = exponent.is_none_or(|e| {
        let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
        !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit())
    });
    if mantissa_ok && exponent_ok {
        s.parse().ok()
    } else {
        None
    }
}

/// Formats like .NET's `G15`, which the runner uses: integers plainly, at most 15 significant
/// digits, scientific notation (`1E+15`) outside 1e-5..1e15.
pub fn number_to_string(n: f64) -> String {
    if n.is_nan() {
        return "NaN".to_owned();
    }
    if n.is_infinite() {
        return if n > 0.0 { "Infinity" } else { "-Infinity" }.to_owned();
    }
    if n == 0.0 {
        return "0".to_owned();
    }
    let sci = format!("{n:.14e}");
    let (mantissa, exponent) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let negative = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let digits = digits.trim_end_matches('0');
    let digits = if digits.is_empty() { "0" } else { digits };
    let sign = if negative { "-" } else { "" };
    if (-4..15).contains(&exponent) {
        let point = exponent + 1;
        let body = if point <= 0 {
            format!("0.{}{digits}", "0".repeat(point.unsigned_abs() as usize))
        } else if point as usize >= digits.len() {
            format!("{digits}{}", "0".repeat(point as usize - digits.len()))
        } else {
            format!(
                "{}.{}",
                &digits[..point as usize],
                &digits[point as usize..]
            )
        };
        format!("{sign}{body}")
    } else {
        let (first, rest) = digits.split_at(1);
        let frac = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let esign = if exponent < 0 { '-' } else { '+' };
        format!("{sign}{first}{frac}E{esign}{:02}", exponent.abs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Value {
        Value::from(v)
    }

    #[test]
    fn numbers_print_like_g15() {
        let cases = [
            (1.0, "1"),
            (-2.0, "-2"),
            (0.5, "0.5"),
            (1.5e3, "1500"),
            (0.1 + 0.2, "0.3"),
            (123_456_789_012_345.0, "123456789012345"),
            (1e15, "1E+15"),
            (1.25e20, "1.25E+20"),
            (0.0001, "0.0001"),
            (0.000_01, "1E-05"),
            (-0.0, "0"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "Infinity"),
        ];
        for (n, want) in cases {
            assert_eq!(number_to_string(n), want, "{n}");
        }
    }

    #[test]
    fn strings_parse_as_the_runner_parses_them() {
        assert_eq!(parse_number(""), Some(0.0));
        assert_eq!(parse_number("0x1F"), Some(31.0));
        assert_eq!(parse_number("0o17"), Some(15.0));
        assert_eq!(parse_number("-1.5e2"), Some(-150.0));
        assert_eq!(parse_number(".5"), Some(0.5));
        assert_eq!(parse_number("inf"), None);
        assert_eq!(parse_number("nan"), None);
        assert_eq!(parse_number("1e"), None);
        assert_eq!(parse_number("abc"), None);
        assert_eq!(s("  42 ").to_number(), 42.0);
    }

    #[test]
    fn loose_equality_coerces_mismatched_kinds_to_numbers() {
        assert!(s("ABC").loose_eq(&s("abc")));
        assert!(Value::Number(1.0).loose_eq(&s("1")));
        assert!(Value::Bool(true).loose_eq(&s("1")));
        assert!(Value::Bool(true).loose_eq(&Value::Number(1.0)));
        assert!(!Value::Bool(true).loose_eq(&s("true")));
        assert!(Value::Null.loose_eq(&s("")));
        assert!(Value::Null.loose_eq(&Value::Bool(false)));
        assert!(!Value::Null.loose_eq(&s("x")));
        assert!(!Value::Number(f64::NAN).loose_eq(&Value::Number(f64::NAN)));
        let obj = Value::object();
        assert!(obj.loose_eq(&obj.clone()));
        assert!(!obj.loose_eq(&Value::object()));
        assert!(!obj.loose_eq(&Value::Number(f64::NAN)));
    }

    #[test]
    fn ordering_compares_strings_case_insensitively_and_refuses_nan() {
        assert_eq!(s("a").loose_cmp(&s("B")), Some(Ordering::Less));
        assert_eq!(Value::Number(2.0).loose_cmp(&s("10")), Some(Ordering::Less));
        assert_eq!(Value::Number(2.0).loose_cmp(&s("x")), None);
        assert_eq!(Value::object().loose_cmp(&Value::object()), None);
    }

    #[test]
    fn truthiness() {
        for falsy in [
            Value::Null,
            Value::Bool(false),
            Value::Number(0.0),
            Value::Number(f64::NAN),
            s(""),
        ] {
            assert!(!falsy.is_truthy(), "{falsy:?}");
        }
        for truthy in [s("false"), s("0"), Value::Number(-1.0), Value::object()] {
            assert!(truthy.is_truthy(), "{truthy:?}");
        }
    }
}
