//! An action's outputs: one value that becomes `$GITHUB_OUTPUT` lines, the `--json` object and
//! the step summary table, so the three can never disagree.

use crate::fmt::markdown_cell;
use serde_json::{Map, Value};

/// Outputs in the order they were set. Names are the action's output names (kebab-case).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Outputs {
    /// Name, value, and whether the summary table lists it (see [`Outputs::set_unlisted`]).
    entries: Vec<(String, Value, bool)>,
}

impl Outputs {
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets (or replaces) an output. Values are typed: strings, numbers, bools, arrays of strings.
    pub fn set(&mut self, name: &str, value: impl Into<Value>) -> &mut Self {
        self.put(name, value.into(), true)
    }

    /// Sets an output that the summary table does not repeat: one whose value is the step
    /// summary's own markdown, or too long for a table cell. `$GITHUB_OUTPUT` and `--json`
    /// carry it as any other.
    pub fn set_unlisted(&mut self, name: &str, value: impl Into<Value>) -> &mut Self {
        self.put(name, value.into(), false)
    }

    fn put(&mut self, name: &str, value: Value, listed: bool) -> &mut Self {
        match self.entries.iter_mut().find(|(k, _, _)| k == name) {
            Some(slot) => (slot.1, slot.2) = (value, listed),
            None => self.entries.push((name.to_owned(), value, listed)),
        }
        self
    }

    /// Sets a list output from anything that yields strings.
    pub fn set_list<I, S>(&mut self, name: &str, items: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let v: Vec<Value> = items.into_iter().map(|s| Value::String(s.into())).collect();
        self.set(name, Value::Array(v))
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.entries
            .iter()
            .find(|(k, _, _)| k == name)
            .map(|(_, v, _)| v)
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Adds every entry of `other` (later wins).
    pub fn merge(&mut self, other: &Outputs) {
        for (k, v, listed) in &other.entries {
            self.put(k, v.clone(), *listed);
        }
    }

    /// The `$GITHUB_OUTPUT` form of each value: strings as they are, numbers and bools as JSON,
    /// lists one item a line (the form every gantry list input accepts back), null as empty.
    pub fn github_pairs(&self) -> Vec<(&str, String)> {
        self.entries
            .iter()
            .map(|(k, v, _)| (k.as_str(), github_string(v)))
            .collect()
    }

    /// The `--json` object: keys are the output names, values keep their types.
    pub fn to_json(&self) -> Map<String, Value> {
        self.entries
            .iter()
            .map(|(k, v, _)| (k.clone(), v.clone()))
            .collect()
    }

    /// A markdown table for `$GITHUB_STEP_SUMMARY`, under a `### title` heading. Long lists are
    /// cut to their first ten items with a count of the rest.
    pub fn summary_table(&self, title: &str) -> String {
        let mut s = format!("### {title}\n\n| output | value |\n| --- | --- |\n");
        for (k, v, _) in self.entries.iter().filter(|(_, _, listed)| *listed) {
            let cell = match v {
                Value::Array(items) => {
                    let mut shown: Vec<String> = items
                        .iter()
                        .take(10)
                        .map(|i| format!("`{}`", github_string(i)))
                        .collect();
                    if items.len() > 10 {
                        shown.push(format!("… and {} more", items.len() - 10));
                    }
                    shown.join(" ")
                }
                other => github_string(other),
            };
            s.push_str(&format!("| {k} | {} |\n", markdown_cell(&cell)));
        }
        s
    }

    /// `name: value` lines for a human reading a terminal.
    pub fn human_lines(&self) -> String {
        self.entries
            .iter()
            .map(|(k, v, _)| {
                let text = github_string(v).replace('\n', ", ");
                format!("{k}: {text}\n")
            })
            .collect()
    }
}

fn github_string(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(items) => items
            .iter()
            .map(github_string)
            .collect::<Vec<_>>()
            .join("\n"),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Outputs {
        let mut o = Outputs::new();
        o.set("invalidation-id", "I2J0I21PCUYOIK")
            .set("path-count", 2)
            .set("waited", true)
            .set_list("paths", ["/index.html", "/a|b"]);
        o
    }

    #[test]
    fn three_renderings_agree() {
        let o = sample();
        insta::assert_snapshot!(serde_json::to_string(&o.to_json()).unwrap(), @r#"{"invalidation-id":"I2J0I21PCUYOIK","path-count":2,"waited":true,"paths":["/index.html","/a|b"]}"#);
        let pairs = o.github_pairs();
        assert_eq!(pairs[1], ("path-count", "2".to_string()));
        assert_eq!(pairs[2], ("waited", "true".to_string()));
        assert_eq!(pairs[3], ("paths", "/index.html\n/a|b".to_string()));
        insta::assert_snapshot!(o.summary_table("CloudFront invalidation"), @r"
        ### CloudFront invalidation

        | output | value |
        | --- | --- |
        | invalidation-id | I2J0I21PCUYOIK |
        | path-count | 2 |
        | waited | true |
        | paths | `/index.html` `/a\|b` |
        ");
        insta::assert_snapshot!(o.human_lines(), @r"
        invalidation-id: I2J0I21PCUYOIK
        path-count: 2
        waited: true
        paths: /index.html, /a|b
        ");
    }

    #[test]
    fn unlisted_outputs_are_outputs_but_not_table_rows() {
        let mut o = sample();
        o.set_unlisted("summary", "### Plan\n\n| a | b |");
        assert_eq!(o.to_json()["summary"], "### Plan\n\n| a | b |");
        assert!(o.github_pairs().iter().any(|(k, _)| *k == "summary"));
        let table = o.summary_table("t");
        assert!(
            !table.contains("summary") && table.contains("| path-count | 2 |"),
            "{table}"
        );
        let mut merged = Outputs::new();
        merged.merge(&o);
        assert_eq!(merged.summary_table("t"), table);
    }

    #[test]
    fn set_replaces_in_place_and_long_lists_are_cut() {
        let mut o = sample();
        o.set("path-count", 3);
        assert_eq!(o.get("path-count"), Some(&Value::from(3)));
        assert_eq!(o.to_json().len(), 4);
        let mut l = Outputs::new();
        l.set_list("paths", (0..13).map(|i| format!("/{i}")));
        assert!(l.summary_table("t").contains("… and 3 more"));
        assert!(!l.summary_table("t").contains("`/10`"));
    }
}
