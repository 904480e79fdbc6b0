//! The gate for destruction: a change that replaces or deletes a resource of a stateful type
//! (data lives in it) is refused unless `allow-replacement` names it. Where the change set does
//! not say whether a change replaces (`Conditional`, or nothing at all as in moto), the type's
//! registry schema decides: a change to one of its `createOnlyProperties` replaces the resource.
//! The table is `data/stateful-types.json`, written by `scripts/refresh-stateful-types` from
//! the schemas cfn-lint ships.

use crate::changes::{Action, Replacement, ResourceChange, flatten};
use crate::template::{Template, changed_properties};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::OnceLock;

#[derive(Debug, Deserialize)]
struct Table {
    types: BTreeMap<String, TypeEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TypeEntry {
    create_only: Vec<String>,
    conditional_create_only: Vec<String>,
}

fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| {
        serde_json::from_str(include_str!("../data/stateful-types.json")).unwrap_or_else(|_| {
            Table {
                types: BTreeMap::new(),
            }
        })
    })
}

/// The stateful resource types the gate guards.
pub fn stateful_types() -> Vec<&'static str> {
    table().types.keys().map(String::as_str).collect()
}

/// Why a change destroys a resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Why {
    /// Action `Remove`.
    Deleted,
    /// `Replacement: True`.
    Replaced,
    /// A replacement decided from the schema: these changed properties are create-only.
    CreateOnly(Vec<String>),
    /// `Conditional` (or `Dynamic`) and no changed property is known: assumed to replace.
    MayReplace,
}

/// A destructive change of a stateful resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destruction {
    pub stack: String,
    /// Logical id; `Parent/Child` inside a nested stack.
    pub logical_id: String,
    pub resource_type: String,
    pub why: Why,
}

impl Destruction {
    pub fn describe(&self) -> String {
        let what = match &self.why {
            Why::Deleted => "would be deleted".to_owned(),
            Why::Replaced => "would be replaced".to_owned(),
            Why::CreateOnly(p) => format!(
                "would be replaced (create-only {} changed: {})",
                if p.len() == 1 {
                    "property"
                } else {
                    "properties"
                },
                p.join(", ")
            ),
            Why::MayReplace => {
                "may be replaced (CloudFormation says Conditional and names no property)".to_owned()
            }
        };
        format!(
            "{} ({}) in {} {what}",
            self.logical_id, self.resource_type, self.stack
        )
    }
}

/// Every destructive change of a stateful resource in `changes`. `deployed` (the stack's
/// current template, when known) and `proposed` let the gate see changed properties moto does
/// not report.
pub fn destructions(
    stack: &str,
    changes: &[ResourceChange],
    deployed: Option<&Template>,
    proposed: &Template,
) -> Vec<Destruction> {
    let mut out = Vec::new();
    for (path, c) in flatten(changes) {
        let Some(entry) = table().types.get(&c.resource_type) else {
            continue;
        };
        // Only top-level resources can be compared with the local template.
        let top_level = !path.contains('/');
        let why = match c.action {
            Action::Remove => Some(Why::Deleted),
            Action::Add | Action::Import | Action::Other(_) => None,
            Action::Modify | Action::Dynamic => match c.replacement {
                Replacement::True => Some(Why::Replaced),
                Replacement::False => None,
                Replacement::Conditional | Replacement::Unknown => {
                    let mut changed = c.changed_property_names();
                    if top_level && let Some(old) = deployed {
                        for p in changed_properties(old, proposed, &c.logical_id) {
                            if !changed.contains(&p) {
                                changed.push(p);
                            }
                        }
                    }
                    let create_only: Vec<String> = changed
                        .iter()
                        .filter(|p| {
                            entry.create_only.contains(p)
                                || entry.conditional_create_only.contains(p)
                        })
                        .cloned()
                        .collect();
                    if !create_only.is_empty() {
                        Some(Why::CreateOnly(create_only))
                    } else if changed.is_empty()
                        && (c.replacement == Replacement::Conditional
                            || c.action == Action::Dynamic)
                    {
                        Some(Why::MayReplace)
                    } else {
                        None
                    }
                }
            },
        };
        if let Some(why) = why {
            out.push(Destruction {
                stack: stack.to_owned(),
                logical_id: path,
                resource_type: c.resource_type.clone(),
                why,
            });
        }
    }
    out
}

/// What `allow-replacement` permits.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Allow {
    #[default]
    Nothing,
    All,
    /// Logical ids (`Parent/Child` for nested ones).
    Ids(Vec<String>),
}

impl Allow {
    pub fn permits(&self, d: &Destruction) -> bool {
        match self {
            Self::Nothing => false,
            Self::All => true,
            Self::Ids(ids) => ids.contains(&d.logical_id),
        }
    }
}

/// The destructions `allow` does not permit.
pub fn refused<'a>(all: &'a [Destruction], allow: &Allow) -> Vec<&'a Destruction> {
    all.iter().filter(|d| !allow.permits(d)).collect()
}

/// Resources to be replaced (any type): `Replacement` True or Conditional, or decided by the
/// schema for a stateful type.
pub fn replacements(changes: &[ResourceChange], destroyed: &[Destruction]) -> Vec<String> {
    let mut out: Vec<String> = flatten(changes)
        .into_iter()
        .filter(|(_, c)| {
            matches!(c.action, Action::Modify | Action::Dynamic)
                && matches!(c.replacement, Replacement::True | Replacement::Conditional)
        })
        .map(|(p, _)| p)
        .collect();
    for d in destroyed {
        if d.why != Why::Deleted && !out.contains(&d.logical_id) {
            out.push(d.logical_id.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::changes::Detail;
    use crate::template::parse;

    fn change(action: Action, id: &str, ty: &str, replacement: Replacement) -> ResourceChange {
        ResourceChange {
            replacement,
            ..ResourceChange::new(action, id, ty)
        }
    }

    fn prop(name: &str) -> Detail {
        Detail {
            attribute: "Properties".into(),
            name: Some(name.into()),
            ..Detail::default()
        }
    }

    const T: &str = "Resources:\n  Db: {Type: AWS::RDS::DBInstance, Properties: {DBName: app, AllocatedStorage: '20'}}\n  Bucket: {Type: AWS::S3::Bucket, Properties: {BucketName: a}}\n";

    #[test]
    fn the_table_covers_the_stateful_types() {
        let types = stateful_types();
        for t in [
            "AWS::RDS::DBInstance",
            "AWS::RDS::DBCluster",
            "AWS::S3::Bucket",
            "AWS::KMS::Key",
            "AWS::Logs::LogGroup",
            "AWS::ECR::Repository",
            "AWS::DynamoDB::Table",
            "AWS::EFS::FileSystem",
        ] {
            assert!(types.contains(&t), "{t}");
        }
        assert!(
            table().types["AWS::S3::Bucket"]
                .create_only
                .contains(&"BucketName".to_string())
        );
        assert!(
            table().types["AWS::RDS::DBInstance"]
                .create_only
                .contains(&"DBName".to_string())
        );
    }

    #[test]
    fn aws_says_true_or_remove() {
        let t = parse(T).unwrap();
        let cs = vec![
            change(
                Action::Modify,
                "Db",
                "AWS::RDS::DBInstance",
                Replacement::True,
            ),
            change(
                Action::Remove,
                "Logs",
                "AWS::Logs::LogGroup",
                Replacement::Unknown,
            ),
            change(
                Action::Modify,
                "Topic",
                "AWS::SNS::Topic",
                Replacement::True,
            ),
            change(Action::Add, "New", "AWS::S3::Bucket", Replacement::Unknown),
            change(
                Action::Modify,
                "Bucket",
                "AWS::S3::Bucket",
                Replacement::False,
            ),
        ];
        let d = destructions("s", &cs, None, &t);
        assert_eq!(d.len(), 2, "{d:?}");
        assert_eq!(
            (d[0].logical_id.as_str(), &d[0].why),
            ("Db", &Why::Replaced)
        );
        assert_eq!(
            (d[1].logical_id.as_str(), &d[1].why),
            ("Logs", &Why::Deleted)
        );
        assert_eq!(replacements(&cs, &d), ["Db", "Topic"]);
        assert_eq!(
            d[0].describe(),
            "Db (AWS::RDS::DBInstance) in s would be replaced"
        );
    }

    #[test]
    fn conditional_is_decided_by_create_only_properties() {
        let t = parse(T).unwrap();
        let mut storage = change(
            Action::Modify,
            "Db",
            "AWS::RDS::DBInstance",
            Replacement::Conditional,
        );
        storage.details = vec![prop("AllocatedStorage")];
        assert!(destructions("s", &[storage.clone()], None, &t).is_empty());
        let mut name = storage.clone();
        name.details.push(prop("DBName"));
        assert_eq!(
            destructions("s", &[name], None, &t)[0].why,
            Why::CreateOnly(vec!["DBName".into()])
        );
        // Conditional and no property named: assumed to replace.
        let bare = change(
            Action::Modify,
            "Db",
            "AWS::RDS::DBInstance",
            Replacement::Conditional,
        );
        assert_eq!(destructions("s", &[bare], None, &t)[0].why, Why::MayReplace);
    }

    #[test]
    fn without_any_detail_the_templates_are_compared() {
        // What moto reports for a renamed bucket: Modify, nothing else.
        let old = parse(T).unwrap();
        let new = parse(&T.replace("BucketName: a", "BucketName: b")).unwrap();
        let bare = change(
            Action::Modify,
            "Bucket",
            "AWS::S3::Bucket",
            Replacement::Unknown,
        );
        let d = destructions("s", std::slice::from_ref(&bare), Some(&old), &new);
        assert_eq!(d[0].why, Why::CreateOnly(vec!["BucketName".into()]));
        assert_eq!(replacements(std::slice::from_ref(&bare), &d), ["Bucket"]);
        // A tag-only edit of the bucket is not a replacement.
        let tagged = parse(&T.replace(
            "{BucketName: a}",
            "{BucketName: a, Tags: [{Key: k, Value: v}]}",
        ))
        .unwrap();
        assert!(destructions("s", &[bare], Some(&old), &tagged).is_empty());
    }

    #[test]
    fn nested_changes_and_allow_list() {
        let t = parse(T).unwrap();
        let mut parent = change(
            Action::Modify,
            "Data",
            "AWS::CloudFormation::Stack",
            Replacement::False,
        );
        parent.nested = vec![change(
            Action::Modify,
            "Db",
            "AWS::RDS::DBInstance",
            Replacement::True,
        )];
        let d = destructions("s", &[parent], None, &t);
        assert_eq!(d[0].logical_id, "Data/Db");
        assert_eq!(refused(&d, &Allow::Nothing).len(), 1);
        assert_eq!(refused(&d, &Allow::Ids(vec!["Db".into()])).len(), 1);
        assert!(refused(&d, &Allow::Ids(vec!["Data/Db".into()])).is_empty());
        assert!(refused(&d, &Allow::All).is_empty());
    }
}
