//! Which ACTIVE revisions of a family to deregister. Pure.

/// A revision's ARN parts: `…:task-definition/<family>:<revision>`.
pub fn parse_arn(arn: &str) -> Option<(&str, u32)> {
    let tail = arn.rsplit_once("task-definition/")?.1;
    let (family, rev) = tail.rsplit_once(':')?;
    Some((family, rev.parse().ok()?))
}

/// The prune plan.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrunePlan {
    /// ARNs to deregister, oldest first.
    pub deregister: Vec<String>,
    /// ARNs kept, newest first, with why.
    pub kept: Vec<(String, &'static str)>,
}

/// Keeps the newest `keep` revisions of `family` (and always the newest), and every revision
/// in `in_use` (run by a service or listed in one of its deployments); the rest is deregistered.
pub fn plan(family: &str, active: &[String], keep: usize, in_use: &[String]) -> PrunePlan {
    let mut revs: Vec<(u32, &String)> = active
        .iter()
        .filter_map(|a| match parse_arn(a) {
            Some((f, r)) if f == family => Some((r, a)),
            _ => None,
        })
        .collect();
    revs.sort_by_key(|r| std::cmp::Reverse(r.0));
    revs.dedup_by_key(|r| r.0);
    let mut p = PrunePlan::default();
    for (i, (_, arn)) in revs.iter().enumerate() {
        if i == 0 {
            p.kept.push(((*arn).clone(), "newest"));
        } else if i < keep {
            p.kept.push(((*arn).clone(), "within keep"));
        } else if in_use.iter().any(|u| u == *arn) {
            p.kept.push(((*arn).clone(), "used by a service"));
        } else {
            p.deregister.push((*arn).clone());
        }
    }
    p.deregister.reverse();
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arn(r: u32) -> String {
        format!("arn:aws:ecs:us-east-1:123456789012:task-definition/web:{r}")
    }

    #[test]
    fn keeps_newest_keep_and_in_use() {
        let active: Vec<String> = [3, 1, 7, 5, 6, 2].into_iter().map(arn).collect();
        let mut all = active.clone();
        all.push("arn:aws:ecs:us-east-1:123456789012:task-definition/web-other:1".into());
        let p = plan("web", &all, 2, &[arn(2)]);
        assert_eq!(p.deregister, vec![arn(1), arn(3), arn(5)]);
        assert_eq!(
            p.kept,
            vec![
                (arn(7), "newest"),
                (arn(6), "within keep"),
                (arn(2), "used by a service")
            ]
        );
        let p = plan("web", &[arn(4)], 1, &[]);
        assert!(p.deregister.is_empty(), "never the newest");
        assert_eq!(parse_arn(&arn(12)), Some(("web", 12)));
        assert_eq!(parse_arn("web:1"), None);
    }
}
