//! GitHub's deployments and deployment statuses (REST), and an environment's records (one
//! GraphQL query, paged). Our own serde types over the kit's client: octocrab 0.54 has no typed
//! Deployments API.

use crate::config::Repo;
use crate::record::{self, Record, StatusEntry, StatusState};
use gantry_kit::Error;
use gantry_kit::github_api::{ApiError, GitHubApi};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::time::SystemTime;

/// The GraphQL query `records` sends.
pub const RECORDS_QUERY: &str = include_str!("deployments.graphql");

/// A deployment to create.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NewDeployment {
    #[serde(rename = "ref")]
    pub git_ref: String,
    pub environment: String,
    pub task: &'static str,
    pub description: String,
    pub payload: Value,
    /// `[]`: GitHub would otherwise refuse (409) while the commit's checks are pending or failed.
    pub required_contexts: Vec<String>,
    /// `false`: GitHub would otherwise try to merge the default branch in (409 when it is ahead).
    pub auto_merge: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub production_environment: Option<bool>,
    pub transient_environment: bool,
}

/// A deployment as GitHub returns it (the fields gantry reads).
#[derive(Clone, Debug, PartialEq)]
pub struct Deployment {
    pub id: u64,
    pub url: String,
    pub environment: String,
    pub payload: Value,
    pub created_at: Option<SystemTime>,
}

/// A status to post.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NewStatus {
    pub state: &'static str,
    pub description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment_url: Option<String>,
}

impl NewStatus {
    pub fn new(state: StatusState, description: String) -> Self {
        Self {
            state: state.as_str(),
            description,
            log_url: None,
            environment_url: None,
        }
    }
}

#[derive(Deserialize)]
struct DeploymentBody {
    id: u64,
    url: String,
    environment: String,
    #[serde(default)]
    payload: Value,
    created_at: String,
}

impl From<DeploymentBody> for Deployment {
    fn from(b: DeploymentBody) -> Self {
        Self {
            id: b.id,
            url: b.url,
            environment: b.environment,
            payload: b.payload,
            created_at: record::parse_time(&b.created_at),
        }
    }
}

/// POST /deployments answers 201 with the deployment, or 202 with a message when it merged
/// the default branch in first (not with `auto_merge: false`, but GitHub documents it).
#[derive(Deserialize)]
#[serde(untagged)]
enum Created {
    Deployment(DeploymentBody),
    Merged { message: String },
}

#[derive(Deserialize)]
struct StatusBody {
    id: u64,
}

/// The deployments API of one repository.
pub struct Deployments<'a> {
    pub api: &'a GitHubApi,
    pub repo: &'a Repo,
}

impl Deployments<'_> {
    /// Creates a deployment.
    pub async fn create(&self, new: &NewDeployment) -> Result<Deployment, Error> {
        let path = format!("{}/deployments", self.repo.path());
        let created: Created = self
            .api
            .post(&path, new, "the deployment")
            .await
            .map_err(|e| explain(e, "creating the deployment"))?;
        match created {
            Created::Deployment(b) => Ok(b.into()),
            Created::Merged { message } => Err(Error::failed(format!(
                "creating the deployment: GitHub merged instead of deploying: {message}"
            ))
            .with_hint("re-run the job: the next request deploys the merged ref")),
        }
    }

    /// Reads one deployment.
    pub async fn get(&self, id: u64) -> Result<Deployment, Error> {
        let path = format!("{}/deployments/{id}", self.repo.path());
        let what = format!("deployment {id} in {}/{}", self.repo.owner, self.repo.name);
        let page = self
            .api
            .get::<DeploymentBody>(&path, &what)
            .await
            .map_err(|e| explain(e, &format!("reading deployment {id}")))?;
        Ok(page.items.into())
    }

    /// Posts a status; returns its id.
    pub async fn post_status(&self, id: u64, status: &NewStatus) -> Result<u64, Error> {
        let path = format!("{}/deployments/{id}/statuses", self.repo.path());
        let what = format!("deployment {id} in {}/{}", self.repo.owner, self.repo.name);
        let s: StatusBody = self
            .api
            .post(&path, status, &what)
            .await
            .map_err(|e| explain(e, &format!("setting deployment {id} to {}", status.state)))?;
        Ok(s.id)
    }

    /// The environment's `deploy` deployments, newest first, at most `max` (REST, paged by
    /// `Link`, 100 a page).
    pub async fn list(&self, environment: &str, max: usize) -> Result<Vec<Deployment>, Error> {
        let mut url = format!(
            "{}/deployments?environment={}&task=deploy&per_page={}",
            self.repo.path(),
            encode(environment),
            max.min(100)
        );
        let mut out = Vec::new();
        loop {
            let page = self
                .api
                .get::<Vec<DeploymentBody>>(&url, "the list of deployments")
                .await
                .map_err(|e| explain(e, &format!("listing the deployments of {environment}")))?;
            out.extend(page.items.into_iter().map(Deployment::from));
            match page.next {
                Some(next) if out.len() < max => url = next,
                _ => break,
            }
        }
        out.truncate(max);
        Ok(out)
    }

    /// The environment's newest `max` deployments with their statuses, newest first (GraphQL,
    /// paged by cursor).
    pub async fn records(&self, environment: &str, max: usize) -> Result<Vec<Record>, Error> {
        let mut out: Vec<Record> = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let vars = json!({
                "owner": self.repo.owner,
                "name": self.repo.name,
                "environment": environment,
                "first": (max - out.len()).min(100),
                "after": after,
            });
            let data: GqlData = self
                .api
                .graphql(RECORDS_QUERY, &vars, "the deployments query")
                .await
                .map_err(|e| explain(e, &format!("reading the deployments of {environment}")))?;
            let conn = data
                .repository
                .ok_or_else(|| {
                    Error::failed(format!(
                        "reading the deployments of {environment}: GitHub found no repository {}/{}",
                        self.repo.owner, self.repo.name
                    ))
                })?
                .deployments;
            out.extend(
                conn.nodes
                    .into_iter()
                    .flatten()
                    .filter_map(GqlDeployment::record),
            );
            match (conn.page_info.has_next_page, conn.page_info.end_cursor) {
                (true, Some(c)) if out.len() < max => after = Some(c),
                _ => break,
            }
        }
        out.truncate(max);
        Ok(out)
    }
}

/// The kit's error, with what deployments add: why GitHub answers 409 here.
fn explain(e: ApiError, doing: &str) -> Error {
    let conflict = matches!(e, ApiError::Conflict { .. });
    let err = e.into_error(doing);
    if conflict {
        err.with_hint(
            "GitHub refuses a deployment when the commit's required status checks failed or the default branch could not be merged in; gantry sends `required_contexts: []` and `auto_merge: false`, so check the repository's deployment protection rules",
        )
    } else {
        err
    }
}

fn encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

#[derive(Deserialize)]
struct GqlData {
    repository: Option<GqlRepository>,
}

#[derive(Deserialize)]
struct GqlRepository {
    deployments: GqlConnection,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GqlConnection {
    page_info: GqlPageInfo,
    #[serde(default)]
    nodes: Vec<Option<GqlDeployment>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GqlPageInfo {
    has_next_page: bool,
    end_cursor: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GqlDeployment {
    database_id: Option<u64>,
    created_at: String,
    payload: Option<String>,
    latest_status: Option<GqlStatus>,
    statuses: Option<GqlStatuses>,
}

#[derive(Deserialize)]
struct GqlStatuses {
    #[serde(default)]
    nodes: Vec<Option<GqlStatus>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GqlStatus {
    state: String,
    description: Option<String>,
    created_at: String,
}

impl GqlStatus {
    fn entry(self) -> Option<StatusEntry> {
        Some(StatusEntry {
            state: StatusState::parse(&self.state)?,
            description: self.description.unwrap_or_default(),
            created_at: record::parse_time(&self.created_at),
        })
    }
}

impl GqlDeployment {
    fn record(self) -> Option<Record> {
        Some(Record {
            id: self.database_id?,
            created_at: record::parse_time(&self.created_at),
            payload: self.payload.map(Value::String).unwrap_or(Value::Null),
            latest: self
                .latest_status
                .and_then(|s| StatusState::parse(&s.state)),
            statuses: self
                .statuses
                .map(|s| {
                    s.nodes
                        .into_iter()
                        .flatten()
                        .filter_map(GqlStatus::entry)
                        .collect()
                })
                .unwrap_or_default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_create_body_is_what_github_documents() {
        let d = NewDeployment {
            git_ref: "main".into(),
            environment: "staging".into(),
            task: "deploy",
            description: "d".into(),
            payload: json!({"schema": "gantry.release/v1"}),
            required_contexts: vec![],
            auto_merge: false,
            production_environment: None,
            transient_environment: false,
        };
        insta::assert_snapshot!(serde_json::to_string(&d).unwrap(), @r#"{"ref":"main","environment":"staging","task":"deploy","description":"d","payload":{"schema":"gantry.release/v1"},"required_contexts":[],"auto_merge":false,"transient_environment":false}"#);
        assert_eq!(encode("prod eu/1"), "prod%20eu%2F1");
    }

    #[test]
    fn graphql_nodes_become_records() {
        let node: GqlDeployment = serde_json::from_value(json!({
            "databaseId": 7,
            "createdAt": "2026-12-03T08:00:00Z",
            "environment": "prod",
            "payload": "{\"schema\":\"gantry.release/v1\"}",
            "latestStatus": {"state": "INACTIVE", "description": "", "createdAt": "2026-12-03T08:05:00Z"},
            "statuses": {"nodes": [
                {"state": "SUCCESS", "description": "ok", "createdAt": "2026-12-03T08:01:00Z"},
                {"state": "WAITING", "description": null, "createdAt": "2026-12-03T08:00:30Z"},
                null
            ]}
        }))
        .unwrap();
        let r = node.record().unwrap();
        assert_eq!(r.id, 7);
        assert_eq!(r.latest, Some(StatusState::Inactive));
        assert_eq!(
            r.statuses.len(),
            1,
            "unknown states and null nodes are dropped"
        );
        assert!(r.payload.is_string());
    }
}
