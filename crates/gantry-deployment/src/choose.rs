//! Which release is good: the pure rules of `last-good`, judged on plain records (newest first).
//!
//! A deployment is good when its payload is a valid `gantry.release/v1`, it is not marked bad,
//! it carries no release that was marked bad elsewhere, and its latest status is `success` — or
//! `inactive` after a `success` (GitHub's `auto_inactive` turns earlier successes inactive when a
//! newer one succeeds). Everything else is skipped with its reason.

use crate::description::marked_reason;
use crate::record::{Record, StatusState};
use crate::release::{Payload, Release, ReleaseError};
use std::collections::HashMap;
use std::time::{Duration, SystemTime};

/// Why a deployment is not offered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Skip {
    /// Its payload is not `gantry.release/v1` (another tool's record): left alone.
    OtherSchema,
    /// Its payload claims `gantry.release/v1` but breaks it.
    Invalid(ReleaseError),
    /// A status marks it bad.
    MarkedBad { reason: String },
    /// It carries the same release as deployment `marked`, which is marked bad.
    SameReleaseMarkedBad { marked: u64 },
    /// It never succeeded (or its latest status says it is not running).
    NotSucceeded { latest: Option<StatusState> },
}

impl Skip {
    /// One line for logs and the summary.
    pub fn describe(&self) -> String {
        match self {
            Self::OtherSchema => "payload is not gantry.release/v1 (left alone)".into(),
            Self::Invalid(e) => format!("payload breaks gantry.release/v1: {e}"),
            Self::MarkedBad { reason } => format!("marked bad: {reason}"),
            Self::SameReleaseMarkedBad { marked } => {
                format!("same release as deployment {marked}, which is marked bad")
            }
            Self::NotSucceeded { latest: Some(s) } => {
                format!("latest status is {} and it never succeeded", s.as_str())
            }
            Self::NotSucceeded { latest: None } => "no status yet".into(),
        }
    }
}

/// A good deployment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Good {
    pub release: Release,
    /// When its (newest) `success` status was written.
    pub succeeded_at: Option<SystemTime>,
}

/// The verdict on one deployment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Judged {
    pub id: u64,
    pub latest: Option<StatusState>,
    pub verdict: Result<Good, Skip>,
}

/// Judges every record (newest first in, newest first out).
pub fn judge(records: &[Record]) -> Vec<Judged> {
    let parsed: Vec<(&Record, Payload, Option<String>)> = records
        .iter()
        .map(|r| {
            let mark = r
                .statuses
                .iter()
                .filter(|s| {
                    matches!(
                        s.state,
                        StatusState::Failure | StatusState::Error | StatusState::Inactive
                    )
                })
                .find_map(|s| marked_reason(&s.description).map(str::to_owned));
            (r, Release::read_payload(&r.payload), mark)
        })
        .collect();
    // Releases marked bad anywhere in the scan, by identity: never offered again.
    let mut marked: HashMap<String, u64> = HashMap::new();
    for (r, p, mark) in &parsed {
        if let (Payload::Release(rel), Some(_)) = (p, mark) {
            marked.entry(rel.identity()).or_insert(r.id);
        }
    }
    parsed
        .into_iter()
        .map(|(r, payload, mark)| {
            let verdict = match payload {
                Payload::Other => Err(Skip::OtherSchema),
                Payload::Invalid(e) => Err(Skip::Invalid(e)),
                Payload::Release(_) if mark.is_some() => Err(Skip::MarkedBad {
                    reason: mark.unwrap_or_default(),
                }),
                Payload::Release(rel) => match marked.get(&rel.identity()) {
                    Some(&m) => Err(Skip::SameReleaseMarkedBad { marked: m }),
                    None => succeeded(r).map(|succeeded_at| Good {
                        release: *rel,
                        succeeded_at,
                    }),
                },
            };
            Judged {
                id: r.id,
                latest: r.latest,
                verdict,
            }
        })
        .collect()
}

/// `Ok(time of the newest success)` when the record counts as succeeded.
fn succeeded(r: &Record) -> Result<Option<SystemTime>, Skip> {
    let successes: Vec<_> = r
        .statuses
        .iter()
        .filter(|s| s.state == StatusState::Success)
        .collect();
    let ok = match r.latest {
        Some(StatusState::Success) => true,
        Some(StatusState::Inactive) => !successes.is_empty(),
        _ => false,
    };
    if ok {
        Ok(successes.iter().filter_map(|s| s.created_at).max())
    } else {
        Err(Skip::NotSucceeded { latest: r.latest })
    }
}

/// Which good release is asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// The newest good one.
    LastGood,
    /// The newest good one that carries another release than the newest good one.
    Previous,
    /// This deployment, which must be good.
    Deployment(u64),
}

/// Why nothing could be offered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NotFound {
    NoGood,
    NoPrevious { last_good: u64 },
    NotScanned { id: u64 },
    NotGood { id: u64, skip: Skip },
}

/// The deployment `target` names, among `judged` (newest first).
pub fn pick(judged: &[Judged], target: Target) -> Result<(&Judged, &Good), NotFound> {
    let mut good = judged
        .iter()
        .filter_map(|j| j.verdict.as_ref().ok().map(|g| (j, g)));
    match target {
        Target::LastGood => good.next().ok_or(NotFound::NoGood),
        Target::Previous => {
            let (first, g) = good.next().ok_or(NotFound::NoGood)?;
            let identity = g.release.identity();
            good.find(|(_, g)| g.release.identity() != identity)
                .ok_or(NotFound::NoPrevious {
                    last_good: first.id,
                })
        }
        Target::Deployment(id) => {
            let j = judged
                .iter()
                .find(|j| j.id == id)
                .ok_or(NotFound::NotScanned { id })?;
            match &j.verdict {
                Ok(g) => Ok((j, g)),
                Err(skip) => Err(NotFound::NotGood {
                    id,
                    skip: skip.clone(),
                }),
            }
        }
    }
}

/// Whether the picked release is the commit `want` (a full id or a prefix of at least 7).
pub fn same_commit(release: &Release, want: &str) -> bool {
    let want = want.to_ascii_lowercase();
    want.len() >= 7 && release.sha.starts_with(&want)
}

/// How long a release has been good at `now`; `None` without a success time.
pub fn age(good: &Good, now: SystemTime) -> Option<Duration> {
    good.succeeded_at
        .map(|t| now.duration_since(t).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::StatusEntry;
    use serde_json::{Value, json};
    use std::time::UNIX_EPOCH;

    fn t(s: u64) -> Option<SystemTime> {
        Some(UNIX_EPOCH + Duration::from_secs(s))
    }

    fn release(n: u8) -> Value {
        json!({
            "schema": "gantry.release/v1",
            "ref": "main",
            "sha": format!("{:040x}", n),
            "image": format!("r/app@sha256:{:064x}", n),
        })
    }

    fn status(state: StatusState, desc: &str, at: u64) -> StatusEntry {
        StatusEntry {
            state,
            description: desc.into(),
            created_at: t(at),
        }
    }

    /// A record with these statuses (oldest first); latest is the last.
    fn rec(id: u64, payload: Value, statuses: Vec<StatusEntry>) -> Record {
        Record {
            id,
            created_at: t(id),
            latest: statuses.last().map(|s| s.state),
            payload,
            statuses,
        }
    }

    use StatusState::*;

    fn deployed(id: u64, n: u8) -> Record {
        rec(
            id,
            release(n),
            vec![status(InProgress, "", id), status(Success, "", id + 1)],
        )
    }

    fn inactivated(id: u64, n: u8) -> Record {
        let mut r = deployed(id, n);
        r.statuses.push(status(Inactive, "", id + 50));
        r.latest = Some(Inactive);
        r
    }

    #[test]
    fn five_releases_one_marked_bad_older_ones_inactive() {
        // Newest first: 5 (marked bad after its success), 4 (success), 3..1 (inactive by auto_inactive).
        let mut bad = deployed(500, 5);
        bad.statuses
            .push(status(Failure, "gantry: marked bad: p99 alarm", 600));
        bad.latest = Some(Failure);
        let records = vec![
            bad,
            deployed(400, 4),
            inactivated(300, 3),
            inactivated(200, 2),
            inactivated(100, 1),
        ];
        let judged = judge(&records);
        assert_eq!(
            judged[0].verdict,
            Err(Skip::MarkedBad {
                reason: "p99 alarm".into()
            })
        );
        let (j, g) = pick(&judged, Target::LastGood).unwrap();
        assert_eq!(j.id, 400);
        assert_eq!(g.succeeded_at, t(401));
        let (p, _) = pick(&judged, Target::Previous).unwrap();
        assert_eq!(p.id, 300, "an inactive success is still good");
        assert_eq!(pick(&judged, Target::Deployment(200)).unwrap().0.id, 200);
        assert_eq!(
            pick(&judged, Target::Deployment(500)).unwrap_err(),
            NotFound::NotGood {
                id: 500,
                skip: Skip::MarkedBad {
                    reason: "p99 alarm".into()
                }
            }
        );
        assert_eq!(
            pick(&judged, Target::Deployment(7)).unwrap_err(),
            NotFound::NotScanned { id: 7 }
        );
    }

    #[test]
    fn a_marked_release_is_not_offered_again_under_another_deployment() {
        let mut bad = deployed(200, 2);
        bad.statuses
            .push(status(Inactive, "gantry: marked bad: rolled back", 300));
        bad.latest = Some(Inactive);
        // Deployment 400 re-deployed release 2 and succeeded: still not offered.
        let records = vec![deployed(400, 2), bad, inactivated(100, 1)];
        let judged = judge(&records);
        assert_eq!(
            judged[0].verdict,
            Err(Skip::SameReleaseMarkedBad { marked: 200 })
        );
        assert_eq!(pick(&judged, Target::LastGood).unwrap().0.id, 100);
        assert_eq!(
            pick(&judged, Target::Previous).unwrap_err(),
            NotFound::NoPrevious { last_good: 100 }
        );
    }

    #[test]
    fn other_schemas_invalid_payloads_and_unfinished_deployments_are_skipped() {
        let other = rec(
            600,
            json!({"deploy": "migrate"}),
            vec![status(Success, "", 601)],
        );
        let string_other = rec(550, json!("plain text"), vec![status(Success, "", 551)]);
        let mut invalid_payload = release(9);
        invalid_payload["image"] = json!("app:latest");
        let invalid = rec(500, invalid_payload, vec![status(Success, "", 501)]);
        let running = rec(400, release(4), vec![status(InProgress, "", 401)]);
        let failed = rec(
            300,
            release(3),
            vec![
                status(InProgress, "", 301),
                status(Failure, "health check", 302),
            ],
        );
        let never = rec(250, release(8), vec![]);
        // Inactive without a success (e.g. a transient environment torn down): not good.
        let torn_down = rec(200, release(2), vec![status(Inactive, "", 201)]);
        // A failure whose description merely mentions gantry is not a mark.
        let records = vec![
            other,
            string_other,
            invalid,
            running,
            failed,
            never,
            torn_down,
        ];
        let judged = judge(&records);
        let skips: Vec<_> = judged
            .iter()
            .map(|j| j.verdict.clone().unwrap_err())
            .collect();
        assert_eq!(skips[0], Skip::OtherSchema);
        assert_eq!(skips[1], Skip::OtherSchema);
        assert!(matches!(&skips[2], Skip::Invalid(e) if e.field == "image"));
        assert_eq!(
            skips[3],
            Skip::NotSucceeded {
                latest: Some(InProgress)
            }
        );
        assert_eq!(
            skips[4],
            Skip::NotSucceeded {
                latest: Some(Failure)
            }
        );
        assert_eq!(skips[5], Skip::NotSucceeded { latest: None });
        assert_eq!(
            skips[6],
            Skip::NotSucceeded {
                latest: Some(Inactive)
            }
        );
        assert_eq!(
            pick(&judged, Target::LastGood).unwrap_err(),
            NotFound::NoGood
        );
        assert!(skips[4].describe().contains("latest status is failure"));
    }

    #[test]
    fn a_mark_on_a_success_status_is_not_a_mark() {
        let r = rec(
            100,
            release(1),
            vec![status(Success, "gantry: marked bad: typed by hand", 101)],
        );
        assert!(judge(&[r])[0].verdict.is_ok());
    }

    #[test]
    fn commit_and_age_checks() {
        let r = Release::from_json(&release(1)).unwrap();
        assert!(same_commit(&r, &r.sha));
        assert!(same_commit(&r, &r.sha[..7].to_ascii_uppercase()));
        assert!(!same_commit(&r, &r.sha[..6]));
        assert!(!same_commit(&r, "deadbeef"));
        let g = Good {
            release: r,
            succeeded_at: t(100),
        };
        assert_eq!(
            age(&g, UNIX_EPOCH + Duration::from_secs(400)),
            Some(Duration::from_secs(300))
        );
        assert_eq!(age(&g, UNIX_EPOCH), Some(Duration::ZERO));
    }
}
