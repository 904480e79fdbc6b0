//! The GitHub edge: the sticky pull-request comment, found by its marker among the pull
//! request's comments (every page) and updated in place (REST `PATCH`, so it keeps its id and
//! its place in the conversation), or created.

use gantry_kit::github_api::{ApiError, GitHubApi};
use serde::Deserialize;
use serde_json::json;

/// The pull request a comment goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequest {
    /// `OWNER/REPO`.
    pub repository: String,
    pub number: u64,
}

#[derive(Debug, Deserialize)]
struct IssueComment {
    id: u64,
    #[serde(default)]
    body: Option<String>,
    html_url: String,
}

/// The comment written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub id: u64,
    pub url: String,
    /// `false`: an earlier plan's comment was updated.
    pub created: bool,
}

/// Updates the comment whose body starts with `marker` (every body gantry writes does; a reply
/// that quotes it does not), or creates it.
pub async fn upsert_comment(
    api: &GitHubApi,
    pr: &PullRequest,
    marker: &str,
    body: &str,
) -> Result<Written, ApiError> {
    let what = format!("the comments of pull request #{}", pr.number);
    let mut next = Some(format!(
        "repos/{}/issues/{}/comments?per_page=100",
        pr.repository, pr.number
    ));
    while let Some(url) = next.take() {
        let page = api.get::<Vec<IssueComment>>(&url, &what).await?;
        if let Some(c) = page
            .items
            .iter()
            .find(|c| c.body.as_deref().is_some_and(|b| b.starts_with(marker)))
        {
            let updated: IssueComment = api
                .patch(
                    &format!("repos/{}/issues/comments/{}", pr.repository, c.id),
                    &json!({"body": body}),
                    &format!("comment {}", c.html_url),
                )
                .await?;
            return Ok(Written {
                id: updated.id,
                url: updated.html_url,
                created: false,
            });
        }
        next = page.next;
    }
    let created: IssueComment = api
        .post(
            &format!("repos/{}/issues/{}/comments", pr.repository, pr.number),
            &json!({"body": body}),
            &format!("a comment on pull request #{}", pr.number),
        )
        .await?;
    Ok(Written {
        id: created.id,
        url: created.html_url,
        created: true,
    })
}
