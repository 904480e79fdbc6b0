//! `strategy.matrix`: the combinations a job runs with, as GitHub expands them — the product of
//! the vectors in key order, then `exclude`, then `include` (pure: JSON in, combinations out).

use indexmap::IndexMap;
use serde_json::Value as Json;

/// GitHub's limit on the combinations of one matrix.
pub const MAX_COMBINATIONS: usize = 256;

pub type Combination = IndexMap<String, Json>;

/// Expands a matrix (expressions already evaluated). Messages name the key at fault.
pub fn expand(matrix: &Json) -> Result<Vec<Combination>, String> {
    let Json::Object(map) = matrix else {
        return Err("the matrix must be a mapping of vectors".to_owned());
    };
    let list = |key: &str| -> Result<Vec<Combination>, String> {
        match map.get(key) {
            None | Some(Json::Null) => Ok(Vec::new()),
            Some(Json::Array(items)) => items
                .iter()
                .map(|i| match i {
                    Json::Object(o) => Ok(o.iter().map(|(k, v)| (k.clone(), v.clone())).collect()),
                    _ => Err(format!("matrix '{key}' must list mappings")),
                })
                .collect(),
            Some(_) => Err(format!("matrix '{key}' must be a list of mappings")),
        }
    };
    let include = list("include")?;
    let exclude = list("exclude")?;

    let mut combos: Vec<Combination> = vec![IndexMap::new()];
    let mut dimensions = Vec::new();
    for (key, values) in map {
        if key == "include" || key == "exclude" {
            continue;
        }
        let Json::Array(values) = values else {
            return Err(format!("matrix vector '{key}' must be a list"));
        };
        if values.is_empty() {
            return Err(format!("Matrix vector '{key}' does not contain any values"));
        }
        dimensions.push(key.clone());
        combos = combos
            .into_iter()
            .flat_map(|c| {
                values.iter().map(move |v| {
                    let mut c = c.clone();
                    c.insert(key.clone(), v.clone());
                    c
                })
            })
            .collect();
    }
    if dimensions.is_empty() {
        combos.clear();
    }
    for ex in &exclude {
        if let Some(k) = ex.keys().find(|k| !dimensions.contains(k)) {
            return Err(format!(
                "matrix exclude: '{k}' is not a vector of the matrix"
            ));
        }
    }
    combos.retain(|c| {
        !exclude
            .iter()
            .any(|ex| ex.iter().all(|(k, v)| c.get(k) == Some(v)))
    });

    // An include entry extends every combination whose original values it does not change;
    // if it extends none, it is a combination of its own.
    let original = combos.clone();
    for inc in &include {
        let mut used = false;
        for (i, c) in combos.iter_mut().take(original.len()).enumerate() {
            let keeps_original = inc
                .iter()
                .all(|(k, v)| original[i].get(k).is_none_or(|o| o == v));
            if keeps_original {
                used = true;
                for (k, v) in inc {
                    c.insert(k.clone(), v.clone());
                }
            }
        }
        if !used {
            combos.push(inc.clone());
        }
    }
    if combos.is_empty() {
        return Err("the matrix has no combinations left".to_owned());
    }
    if combos.len() > MAX_COMBINATIONS {
        return Err(format!(
            "the matrix has {} combinations; GitHub allows at most {MAX_COMBINATIONS}",
            combos.len()
        ));
    }
    Ok(combos)
}

/// How GitHub names a matrix instance: `job (v1, v2)`.
pub fn instance_name(base: &str, combo: &Combination) -> String {
    let values: Vec<String> = combo
        .values()
        .map(|v| match v {
            Json::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect();
    format!("{base} ({})", values.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn show(m: Json) -> Vec<String> {
        expand(&m)
            .unwrap()
            .iter()
            .map(|c| Json::Object(c.clone().into_iter().collect()).to_string())
            .collect()
    }

    #[test]
    fn product_in_key_order() {
        assert_eq!(
            show(json!({"os": ["linux", "mac"], "v": [1, 2]})),
            [
                r#"{"os":"linux","v":1}"#,
                r#"{"os":"linux","v":2}"#,
                r#"{"os":"mac","v":1}"#,
                r#"{"os":"mac","v":2}"#
            ]
        );
    }

    #[test]
    fn exclude_then_include_as_github_documents() {
        // The example of GitHub's docs: include extends matching combinations, adds new ones.
        let m = json!({
            "fruit": ["apple", "pear"],
            "animal": ["cat", "dog"],
            "exclude": [{"fruit": "pear", "animal": "dog"}],
            "include": [
                {"color": "green"},
                {"color": "pink", "animal": "cat"},
                {"fruit": "apple", "shape": "circle"},
                {"fruit": "banana"},
                {"fruit": "banana", "animal": "cat"}
            ]
        });
        assert_eq!(
            show(m),
            [
                r#"{"fruit":"apple","animal":"cat","color":"pink","shape":"circle"}"#,
                r#"{"fruit":"apple","animal":"dog","color":"green","shape":"circle"}"#,
                r#"{"fruit":"pear","animal":"cat","color":"pink"}"#,
                r#"{"fruit":"banana"}"#,
                r#"{"fruit":"banana","animal":"cat"}"#,
            ]
        );
    }

    #[test]
    fn include_only_and_errors() {
        assert_eq!(
            show(json!({"include": [{"target": "x86"}, {"target": "arm"}]})),
            [r#"{"target":"x86"}"#, r#"{"target":"arm"}"#]
        );
        insta::assert_snapshot!(expand(&json!({"os": []})).unwrap_err(), @"Matrix vector 'os' does not contain any values");
        insta::assert_snapshot!(expand(&json!({"os": ["a"], "exclude": [{"os": "a"}]})).unwrap_err(), @"the matrix has no combinations left");
        insta::assert_snapshot!(expand(&json!({"os": ["a"], "exclude": [{"cpu": "a"}]})).unwrap_err(), @"matrix exclude: 'cpu' is not a vector of the matrix");
        let big: Vec<u32> = (0..17).collect();
        assert!(
            expand(&json!({"a": big, "b": big}))
                .unwrap_err()
                .contains("at most 256")
        );
    }

    #[test]
    fn instance_names_list_the_values() {
        let c = expand(&json!({"os": ["linux"], "v": [1]})).unwrap();
        assert_eq!(instance_name("build", &c[0]), "build (linux, 1)");
    }
}
