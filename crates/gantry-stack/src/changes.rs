//! A change set's resource changes as gantry reads them (DescribeChangeSet with
//! `IncludePropertyValues`), nested stacks' change sets expanded under their stack resource.

/// `ResourceChange.Action`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Add,
    Modify,
    Remove,
    Import,
    /// The change cannot be determined before execution (e.g. a nested stack's or a module's).
    Dynamic,
    Other(String),
}

impl Action {
    pub fn parse(s: &str) -> Self {
        match s {
            "Add" => Self::Add,
            "Modify" => Self::Modify,
            "Remove" => Self::Remove,
            "Import" => Self::Import,
            "Dynamic" => Self::Dynamic,
            other => Self::Other(other.to_owned()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::Add => "Add",
            Self::Modify => "Modify",
            Self::Remove => "Remove",
            Self::Import => "Import",
            Self::Dynamic => "Dynamic",
            Self::Other(s) => s,
        }
    }
}

/// `ResourceChange.Replacement`; `Unknown` where the service does not say (moto never does).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replacement {
    True,
    False,
    Conditional,
    Unknown,
}

impl Replacement {
    pub fn parse(s: Option<&str>) -> Self {
        match s {
            Some("True") => Self::True,
            Some("False") => Self::False,
            Some("Conditional") => Self::Conditional,
            _ => Self::Unknown,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::True => "True",
            Self::False => "False",
            Self::Conditional => "Conditional",
            Self::Unknown => "",
        }
    }
}

/// One `ResourceChangeDetail`: what changed in the resource and why.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Detail {
    /// `Properties`, `Metadata`, `Tags`, `DeletionPolicy`, …
    pub attribute: String,
    /// The property name (for `Properties`).
    pub name: Option<String>,
    /// The property path (`/Properties/BucketName`).
    pub path: Option<String>,
    /// `Never`, `Conditionally`, `Always`.
    pub requires_recreation: Option<String>,
    pub before: Option<String>,
    pub after: Option<String>,
    /// `ResourceReference`, `ParameterReference`, `DirectModification`, …
    pub change_source: Option<String>,
    /// The parameter or resource that causes it (`DbPassword`, `Bucket.Arn`).
    pub causing_entity: Option<String>,
}

/// One resource change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceChange {
    pub action: Action,
    pub logical_id: String,
    pub physical_id: Option<String>,
    pub resource_type: String,
    pub replacement: Replacement,
    pub details: Vec<Detail>,
    /// For an `AWS::CloudFormation::Stack`: the changes of its nested change set.
    pub nested: Vec<ResourceChange>,
}

impl ResourceChange {
    /// A change with no detail (what moto reports, and what tests start from).
    pub fn new(action: Action, logical_id: &str, resource_type: &str) -> Self {
        Self {
            action,
            logical_id: logical_id.to_owned(),
            physical_id: None,
            resource_type: resource_type.to_owned(),
            replacement: Replacement::Unknown,
            details: Vec::new(),
            nested: Vec::new(),
        }
    }

    /// Names of the changed properties the details name.
    pub fn changed_property_names(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for d in &self.details {
            if d.attribute != "Properties" {
                continue;
            }
            let name = d.name.clone().or_else(|| {
                d.path
                    .as_deref()
                    .and_then(|p| p.trim_start_matches('/').split('/').nth(1))
                    .map(str::to_owned)
            });
            if let Some(n) = name
                && !out.contains(&n)
            {
                out.push(n);
            }
        }
        out
    }
}

/// Every change with its path (`Parent/Child` for nested ones), depth first.
pub fn flatten(changes: &[ResourceChange]) -> Vec<(String, &ResourceChange)> {
    fn walk<'a>(
        prefix: &str,
        cs: &'a [ResourceChange],
        out: &mut Vec<(String, &'a ResourceChange)>,
    ) {
        for c in cs {
            let path = if prefix.is_empty() {
                c.logical_id.clone()
            } else {
                format!("{prefix}/{}", c.logical_id)
            };
            out.push((path.clone(), c));
            walk(&path, &c.nested, out);
        }
    }
    let mut out = Vec::new();
    walk("", changes, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_print_agree() {
        for a in [
            "Add",
            "Modify",
            "Remove",
            "Import",
            "Dynamic",
            "SyncWithActual",
        ] {
            assert_eq!(Action::parse(a).as_str(), a);
        }
        assert_eq!(
            Replacement::parse(Some("Conditional")),
            Replacement::Conditional
        );
        assert_eq!(Replacement::parse(None), Replacement::Unknown);
    }

    #[test]
    fn property_names_from_name_or_path_and_nested_paths() {
        let mut c = ResourceChange::new(Action::Modify, "Bucket", "AWS::S3::Bucket");
        c.details = vec![
            Detail {
                attribute: "Properties".into(),
                name: Some("BucketName".into()),
                ..Detail::default()
            },
            Detail {
                attribute: "Properties".into(),
                path: Some("/Properties/Tags/0/Value".into()),
                ..Detail::default()
            },
            Detail {
                attribute: "Tags".into(),
                ..Detail::default()
            },
            Detail {
                attribute: "Properties".into(),
                name: Some("BucketName".into()),
                ..Detail::default()
            },
        ];
        assert_eq!(c.changed_property_names(), ["BucketName", "Tags"]);
        let mut parent = ResourceChange::new(Action::Modify, "Data", "AWS::CloudFormation::Stack");
        parent.nested = vec![c];
        let paths: Vec<String> = flatten(&[parent]).into_iter().map(|(p, _)| p).collect();
        assert_eq!(paths, ["Data", "Data/Bucket"]);
    }
}
