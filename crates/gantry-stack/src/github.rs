//! The GitHub edge: the sticky pull-request comment, found by its marker among the issue's
//! comments (every page) and updated in place, or created.

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
    node_id: String,
    #[serde(default)]
    body: Option<String>,
    html_url: String,
}

#[derive(Debug, Deserialize)]
struct Updated {
    #[serde(rename = "updateIssueComment")]
    update: UpdatedComment,
}

#[derive(Debug, Deserialize)]
struct UpdatedComment {
    #[serde(rename = "issueComment")]
    comment: UpdatedUrl,
}

#[derive(Debug, Deserialize)]
struct UpdatedUrl {
    url: String,
}

/// Updates the comment that carries `marker`, or creates it; returns its URL.
pub async fn upsert_comment(
    api: &GitHubApi,
    pr: &PullRequest,
    marker: &str,
    body: &str,
) -> Result<String, ApiError> {
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
            .find(|c| c.body.as_deref().is_some_and(|b| b.contains(marker)))
        {
            const UPDATE: &str = "mutation($id: ID!, $body: String!) { updateIssueComment(input: {id: $id, body: $body}) { issueComment { url } } }";
            let done: Updated = api
                .graphql(
                    UPDATE,
                    &json!({"id": c.node_id, "body": body}),
                    &format!("comment {}", c.html_url),
                )
                .await?;
            return Ok(done.update.comment.url);
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
    Ok(created.html_url)
}
