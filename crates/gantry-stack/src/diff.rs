//! The diff a reviewer reads: per stack, every resource change (action, replacement, changed
//! properties before → after), nested stacks expanded, secrets masked. Markdown, built from
//! plain data.

use crate::changes::{Detail, ResourceChange, flatten};
use gantry_kit::fmt::markdown_cell;

/// What the reader must not see.
#[derive(Debug, Clone, Default)]
pub struct Masking {
    /// `NoEcho` parameters: any change they cause is masked.
    pub no_echo: Vec<String>,
    /// Values to mask wherever they appear (the values of `NoEcho` parameters).
    pub secrets: Vec<String>,
}

/// What gantry writes instead of a secret.
pub const MASK: &str = "****";

/// Longest value shown in a before → after cell.
const MAX_VALUE_CHARS: usize = 120;

/// Property names that hold secrets whatever the template says.
fn secret_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    ["password", "secret", "token", "privatekey", "credential"]
        .iter()
        .any(|w| n.contains(w))
}

impl Masking {
    fn masks(&self, d: &Detail) -> bool {
        d.causing_entity
            .as_deref()
            .is_some_and(|c| self.no_echo.iter().any(|p| p == c))
            || d.name.as_deref().is_some_and(secret_name)
    }

    fn value(&self, d: &Detail, v: Option<&str>) -> String {
        let Some(v) = v else {
            return "—".to_owned();
        };
        if self.masks(d)
            || self
                .secrets
                .iter()
                .any(|s| !s.is_empty() && v.contains(s.as_str()))
        {
            return MASK.to_owned();
        }
        let short: String = v.chars().take(MAX_VALUE_CHARS).collect();
        let cut = if short.len() < v.len() { "…" } else { "" };
        format!("`{}{cut}`", short.replace('`', "'"))
    }
}

/// The table of changes, then the property changes (one line each). Empty input: `""`.
pub fn changes_markdown(changes: &[ResourceChange], mask: &Masking) -> String {
    let all = flatten(changes);
    if all.is_empty() {
        return String::new();
    }
    let mut s =
        String::from("| Resource | Type | Action | Replacement |\n| --- | --- | --- | --- |\n");
    for (path, c) in &all {
        let replacement = match c.replacement.as_str() {
            "True" => "**True**".to_owned(),
            "Conditional" => "**Conditional**".to_owned(),
            other => other.to_owned(),
        };
        s.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            markdown_cell(path),
            markdown_cell(&c.resource_type),
            c.action.as_str(),
            replacement
        ));
    }
    let mut lines = Vec::new();
    for (path, c) in &all {
        for d in &c.details {
            let what = match (&d.name, d.attribute.as_str()) {
                (Some(n), "Properties") => n.clone(),
                (Some(n), a) => format!("{a}.{n}"),
                (None, a) => a.to_owned(),
            };
            let mut line = format!(
                "- `{}` {}: {} → {}",
                markdown_cell(path),
                markdown_cell(&what),
                mask.value(d, d.before.as_deref()),
                mask.value(d, d.after.as_deref())
            );
            match d.requires_recreation.as_deref() {
                Some("Always") => line.push_str(" (replaces)"),
                Some("Conditionally") => line.push_str(" (may replace)"),
                _ => {}
            }
            if let (Some(src), Some(by)) = (&d.change_source, &d.causing_entity) {
                line.push_str(&format!(" — {src} `{}`", markdown_cell(by)));
            }
            lines.push(line);
        }
    }
    if !lines.is_empty() {
        s.push_str("\n<details><summary>Property changes</summary>\n\n");
        s.push_str(&lines.join("\n"));
        s.push_str("\n\n</details>\n");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::changes::{Action, Replacement};

    fn detail(name: &str, before: &str, after: &str) -> Detail {
        Detail {
            attribute: "Properties".into(),
            name: Some(name.into()),
            before: Some(before.into()),
            after: Some(after.into()),
            requires_recreation: Some("Never".into()),
            ..Detail::default()
        }
    }

    #[test]
    fn table_details_nesting_and_masking() {
        let mut db = ResourceChange::new(Action::Modify, "Db", "AWS::RDS::DBInstance");
        db.replacement = Replacement::True;
        db.details = vec![
            Detail {
                requires_recreation: Some("Always".into()),
                ..detail("DBName", "app", "app2")
            },
            Detail {
                change_source: Some("ParameterReference".into()),
                causing_entity: Some("DbPassword".into()),
                ..detail("MasterUserPassword", "old", "new")
            },
            detail("Description", "uses hunter2 inside", "x|y"),
        ];
        let mut nested = ResourceChange::new(Action::Modify, "Data", "AWS::CloudFormation::Stack");
        nested.replacement = Replacement::False;
        nested.nested = vec![db];
        let add = ResourceChange::new(Action::Add, "Topic", "AWS::SNS::Topic");
        let mask = Masking {
            no_echo: vec!["DbPassword".into()],
            secrets: vec!["hunter2".into()],
        };
        insta::assert_snapshot!(changes_markdown(&[nested, add], &mask), @r"
        | Resource | Type | Action | Replacement |
        | --- | --- | --- | --- |
        | `Data` | AWS::CloudFormation::Stack | Modify | False |
        | `Data/Db` | AWS::RDS::DBInstance | Modify | **True** |
        | `Topic` | AWS::SNS::Topic | Add |  |

        <details><summary>Property changes</summary>

        - `Data/Db` DBName: `app` → `app2` (replaces)
        - `Data/Db` MasterUserPassword: **** → **** — ParameterReference `DbPassword`
        - `Data/Db` Description: **** → `x|y`

        </details>
        ");
        assert_eq!(changes_markdown(&[], &mask), "");
    }

    #[test]
    fn long_values_are_cut() {
        let mut c = ResourceChange::new(Action::Modify, "Fn", "AWS::Lambda::Function");
        c.details = vec![detail("Code", &"a".repeat(500), "b")];
        let md = changes_markdown(&[c], &Masking::default());
        assert!(md.contains(&format!("`{}…`", "a".repeat(120))), "{md}");
    }
}
