//! The GitHub client: octocrab's generic `_get`/`_post`/`_patch` (octocrab 0.54 has no typed Deployments
//! API, and its typed calls drop the headers the rate-limit rules need), our own serde types,
//! and one retry loop that follows [`super::retry`].

use super::error::ApiError;
use super::link;
use super::retry::{self, Answer, Decision, Policy, Wait};
use super::token::Token;
use crate::error::Error;
use http::{HeaderMap, Method, StatusCode};
use octocrab::Octocrab;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Where GitHub is and how long the command may spend on it.
#[derive(Debug, Clone)]
pub struct ApiSettings {
    /// REST base, `GITHUB_API_URL` (GitHub Enterprise Server: `https://HOST/api/v3`).
    pub api_url: String,
    /// GraphQL endpoint, `GITHUB_GRAPHQL_URL` (GitHub Enterprise Server: `https://HOST/api/graphql`).
    pub graphql_url: String,
    pub token: Token,
    /// The permission the command needs, named in 403/404 hints, e.g. `deployments: write`.
    pub permission: &'static str,
    /// Waiting for a rate limit may not go past this, counted from [`GitHubApi::new`].
    pub deadline: Duration,
    pub policy: Policy,
}

impl ApiSettings {
    pub const DEFAULT_API_URL: &'static str = "https://api.github.com";
    pub const DEFAULT_GRAPHQL_URL: &'static str = "https://api.github.com/graphql";

    /// Reads `GITHUB_API_URL` and `GITHUB_GRAPHQL_URL` (defaults: github.com's). A value that is
    /// not an http(s) URL is rejected (exit 2), naming the variable.
    pub fn from_env(
        token: Token,
        permission: &'static str,
        deadline: Duration,
    ) -> Result<Self, Error> {
        Self::from_lookup(|k| std::env::var(k).ok(), token, permission, deadline)
    }

    /// [`ApiSettings::from_env`] with an explicit lookup (tests).
    pub fn from_lookup(
        env: impl Fn(&str) -> Option<String>,
        token: Token,
        permission: &'static str,
        deadline: Duration,
    ) -> Result<Self, Error> {
        let url = |name: &str, default: &str| -> Result<String, Error> {
            let v = env(name).filter(|v| !v.trim().is_empty());
            let v = v.as_deref().unwrap_or(default).trim().trim_end_matches('/');
            check_url(v).map_err(|why| {
                Error::input(format!("{name}: `{v}` {why}")).with_hint(format!(
                    "set {name} to GitHub's URL, e.g. `{default}` (the runner sets it)"
                ))
            })?;
            Ok(v.to_owned())
        };
        Ok(Self {
            api_url: url("GITHUB_API_URL", Self::DEFAULT_API_URL)?,
            graphql_url: url("GITHUB_GRAPHQL_URL", Self::DEFAULT_GRAPHQL_URL)?,
            token,
            permission,
            deadline,
            policy: Policy::default(),
        })
    }
}

fn check_url(v: &str) -> Result<(), &'static str> {
    let uri: http::Uri = v.parse().map_err(|_| "is not a URL")?;
    match (uri.scheme_str(), uri.authority()) {
        (Some("https" | "http"), Some(_)) if uri.query().is_none() => Ok(()),
        _ => Err("is not an http(s) URL without a query"),
    }
}

/// One page of a REST list and the URL of the next (`Link: rel="next"`).
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: T,
    pub next: Option<String>,
}

/// The client. Every request goes through one loop that waits out rate limits within the
/// deadline and retries 5xx a bounded number of times.
#[derive(Debug)]
pub struct GitHubApi {
    octo: Octocrab,
    api_url: String,
    graphql_url: String,
    permission: &'static str,
    deadline: Instant,
    policy: Policy,
}

/// An answer that was used: status, headers, body.
struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl GitHubApi {
    /// Builds the client (inside the Tokio runtime). Requests carry `Authorization: Bearer`,
    /// `Accept: application/vnd.github+json` and `X-GitHub-Api-Version: 2022-11-28`.
    pub fn new(settings: ApiSettings) -> Result<Self, Error> {
        // Absolute URLs everywhere, and octocrab's base only the origin: octocrab prefixes a
        // base path to every request, which would turn GHES's `/api/graphql` into
        // `/api/v3/api/graphql`.
        let origin = origin(&settings.api_url);
        let octo = Octocrab::builder()
            .base_uri(origin.as_str())
            .and_then(|b| {
                b.personal_token(settings.token.expose().to_owned())
                    .add_header(http::header::ACCEPT, "application/vnd.github+json".into())
                    .build()
            })
            .map_err(|e| Error::failed(format!("setting up the GitHub client: {e}")))?;
        Ok(Self {
            octo,
            api_url: settings.api_url,
            graphql_url: settings.graphql_url,
            permission: settings.permission,
            deadline: Instant::now() + settings.deadline,
            policy: settings.policy,
        })
    }

    /// The absolute URL of a REST path (`repos/o/r/deployments`); absolute URLs pass as they are.
    pub fn url(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            path.to_owned()
        } else {
            format!("{}/{}", self.api_url, path.trim_start_matches('/'))
        }
    }

    /// `GET` a REST path or URL; `what` names the object in errors ("deployment 42").
    pub async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        what: &str,
    ) -> Result<Page<T>, ApiError> {
        let r = self.send(Method::GET, &self.url(path), None, what).await?;
        let next = r
            .headers
            .get(http::header::LINK)
            .and_then(|v| v.to_str().ok())
            .and_then(link::next_url);
        Ok(Page {
            items: decode(&r.body, what)?,
            next,
        })
    }

    /// `POST` a JSON body to a REST path.
    pub async fn post<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
        what: &str,
    ) -> Result<T, ApiError> {
        self.send_json(Method::POST, path, body, what).await
    }

    /// `PATCH` a JSON body to a REST path (an update in place, e.g. of an issue comment).
    pub async fn patch<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
        what: &str,
    ) -> Result<T, ApiError> {
        self.send_json(Method::PATCH, path, body, what).await
    }

    /// Sends a JSON body with `method` and decodes the answer.
    async fn send_json<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: &B,
        what: &str,
    ) -> Result<T, ApiError> {
        let body = serde_json::to_value(body).map_err(|e| ApiError::Decode {
            what: what.to_owned(),
            message: e.to_string(),
        })?;
        let r = self
            .send(method, &self.url(path), Some(&body), what)
            .await?;
        decode(&r.body, what)
    }

    /// A GraphQL query; GraphQL `errors` become [`ApiError::GraphQl`].
    pub async fn graphql<T: DeserializeOwned>(
        &self,
        query: &str,
        variables: &Value,
        what: &str,
    ) -> Result<T, ApiError> {
        #[derive(serde::Deserialize)]
        struct Gql<T> {
            data: Option<T>,
            #[serde(default)]
            errors: Vec<GqlError>,
        }
        #[derive(serde::Deserialize)]
        struct GqlError {
            message: String,
        }
        let body = serde_json::json!({ "query": query, "variables": variables });
        let url = self.graphql_url.clone();
        let r = self.send(Method::POST, &url, Some(&body), what).await?;
        let g: Gql<T> = decode(&r.body, what)?;
        if !g.errors.is_empty() {
            return Err(ApiError::GraphQl(
                g.errors.into_iter().map(|e| e.message).collect(),
            ));
        }
        g.data.ok_or_else(|| ApiError::Decode {
            what: what.to_owned(),
            message: "neither `data` nor `errors`".into(),
        })
    }

    async fn send(
        &self,
        method: Method,
        url: &str,
        body: Option<&Value>,
        what: &str,
    ) -> Result<Reply, ApiError> {
        let mut attempt = 0u32;
        let mut secondary = 0u32;
        loop {
            let time_left = self.deadline.saturating_duration_since(Instant::now());
            let sent = match method {
                Method::POST => self.octo._post(url, body).await,
                Method::PATCH => self.octo._patch(url, body).await,
                _ => self.octo._get(url).await,
            };
            let response = match sent {
                Ok(r) => r,
                Err(e) => match retry::decide_transport(attempt, time_left, &self.policy) {
                    Decision::Retry { after, .. } => {
                        tracing::warn!("GitHub did not answer ({e}); retrying in {after:?}");
                        tokio::time::sleep(after).await;
                        attempt += 1;
                        continue;
                    }
                    _ => {
                        return Err(ApiError::Transport {
                            url: url.to_owned(),
                            message: e.to_string(),
                        });
                    }
                },
            };
            let status = response.status();
            let headers = response.headers().clone();
            let text =
                self.octo
                    .body_to_string(response)
                    .await
                    .map_err(|e| ApiError::Transport {
                        url: url.to_owned(),
                        message: e.to_string(),
                    })?;
            let answer = answer_of(status, &headers, &text);
            let n = if matches!(status.as_u16(), 403 | 429) {
                secondary
            } else {
                attempt
            };
            match retry::decide(&answer, n, now_epoch(), time_left, &self.policy) {
                Decision::Use => {
                    let reply = Reply {
                        status,
                        headers,
                        body: text,
                    };
                    return self.check(reply, what);
                }
                Decision::Retry { after, why } => {
                    let reason = match why {
                        Wait::PrimaryLimit => "GitHub's rate limit is used up",
                        Wait::SecondaryLimit => "GitHub's secondary rate limit",
                        Wait::ServerError => "GitHub answered a server error",
                    };
                    tracing::warn!(
                        "{reason} ({} on {what}); waiting {} before trying again",
                        status.as_u16(),
                        crate::cli::format_duration(after.max(Duration::from_secs(1)))
                    );
                    tokio::time::sleep(after).await;
                    match why {
                        Wait::SecondaryLimit => secondary += 1,
                        Wait::PrimaryLimit => {}
                        Wait::ServerError => attempt += 1,
                    }
                }
                Decision::PrimaryPastDeadline { reset } => {
                    return Err(ApiError::RateLimited {
                        reset,
                        reset_time: humantime::format_rfc3339_seconds(
                            UNIX_EPOCH + Duration::from_secs(reset),
                        )
                        .to_string(),
                    });
                }
                Decision::SecondaryExhausted => {
                    return Err(ApiError::SecondaryLimit {
                        attempts: secondary + 1,
                    });
                }
                Decision::ServerExhausted => {
                    return Err(ApiError::Server {
                        status: status.as_u16(),
                        attempts: attempt + 1,
                        message: error_message(&text),
                    });
                }
            }
        }
    }

    /// A used answer: success passes, every error status becomes its [`ApiError`].
    fn check(&self, r: Reply, what: &str) -> Result<Reply, ApiError> {
        if r.status.is_success() {
            return Ok(r);
        }
        let message = error_message(&r.body);
        Err(match r.status.as_u16() {
            401 => ApiError::Unauthorized { message },
            403 => ApiError::Forbidden {
                message,
                accepted: r
                    .headers
                    .get("x-accepted-github-permissions")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned),
                permission: self.permission,
            },
            404 => ApiError::NotFound {
                what: what.to_owned(),
                message,
                permission: self.permission,
            },
            409 => ApiError::Conflict { message },
            422 => ApiError::Unprocessable {
                message,
                errors: error_details(&r.body),
            },
            status => ApiError::Other { status, message },
        })
    }
}

fn decode<T: DeserializeOwned>(body: &str, what: &str) -> Result<T, ApiError> {
    serde_json::from_str(body).map_err(|e| ApiError::Decode {
        what: what.to_owned(),
        message: e.to_string(),
    })
}

fn origin(url: &str) -> String {
    match url.parse::<http::Uri>() {
        Ok(u) => match (u.scheme_str(), u.authority()) {
            (Some(s), Some(a)) => format!("{s}://{a}"),
            _ => url.to_owned(),
        },
        Err(_) => url.to_owned(),
    }
}

fn now_epoch() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn header_u64(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

fn answer_of(status: StatusCode, headers: &HeaderMap, body: &str) -> Answer {
    Answer {
        status: status.as_u16(),
        remaining: header_u64(headers, "x-ratelimit-remaining"),
        reset: header_u64(headers, "x-ratelimit-reset"),
        retry_after: header_u64(headers, "retry-after"),
        says_secondary: body.to_ascii_lowercase().contains("secondary rate limit"),
    }
}

/// GitHub's error body: `{"message": …, "errors": [...], "documentation_url": …}`.
#[derive(serde::Deserialize)]
struct ErrorBody {
    message: Option<String>,
    #[serde(default)]
    errors: Vec<Value>,
}

fn error_message(body: &str) -> String {
    serde_json::from_str::<ErrorBody>(body)
        .ok()
        .and_then(|b| b.message)
        .map(|m| m.trim().replace('\n', " "))
        .unwrap_or_else(|| {
            let t: String = body.trim().chars().take(200).collect();
            if t.is_empty() { "no message".into() } else { t }
        })
}

/// `errors[]` entries: strings as they are; objects as their `message`, else `field code`.
fn error_details(body: &str) -> Vec<String> {
    let Ok(b) = serde_json::from_str::<ErrorBody>(body) else {
        return Vec::new();
    };
    b.errors
        .iter()
        .map(|e| match e {
            Value::String(s) => s.clone(),
            Value::Object(o) => o
                .get("message")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .unwrap_or_else(|| {
                    let s = |k: &str| o.get(k).and_then(Value::as_str).unwrap_or("");
                    format!("{} {} {}", s("resource"), s("field"), s("code"))
                        .trim()
                        .to_owned()
                }),
            other => other.to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token() -> Token {
        Token::from_input("t").unwrap()
    }

    #[test]
    fn urls_from_env_with_github_defaults() {
        let s = ApiSettings::from_lookup(|_| None, token(), "deployments: write", Duration::ZERO)
            .unwrap();
        assert_eq!(s.api_url, "https://api.github.com");
        assert_eq!(s.graphql_url, "https://api.github.com/graphql");
        let ghes = |k: &str| match k {
            "GITHUB_API_URL" => Some("https://ghe.example.com/api/v3/".to_owned()),
            "GITHUB_GRAPHQL_URL" => Some("https://ghe.example.com/api/graphql".to_owned()),
            _ => None,
        };
        let s = ApiSettings::from_lookup(ghes, token(), "x", Duration::ZERO).unwrap();
        assert_eq!(s.api_url, "https://ghe.example.com/api/v3");
        assert_eq!(origin(&s.api_url), "https://ghe.example.com");
        let bad = |k: &str| (k == "GITHUB_GRAPHQL_URL").then(|| "ftp://x".to_owned());
        let e = ApiSettings::from_lookup(bad, token(), "x", Duration::ZERO).unwrap_err();
        assert_eq!(e.exit_code(), crate::ExitCode::InputRejected);
        assert!(
            e.message().starts_with("GITHUB_GRAPHQL_URL: `ftp://x`"),
            "{}",
            e.message()
        );
    }

    #[test]
    fn error_bodies_as_github_writes_them() {
        let b = r#"{"message":"Validation Failed","errors":[{"resource":"DeploymentStatus","code":"custom","field":"description","message":"description is too long (maximum is 140 characters)"},"plain"],"documentation_url":"https://docs.github.com/rest","status":"422"}"#;
        assert_eq!(error_message(b), "Validation Failed");
        assert_eq!(
            error_details(b),
            vec![
                "description is too long (maximum is 140 characters)".to_owned(),
                "plain".to_owned()
            ]
        );
        assert_eq!(
            error_message("<html>bad gateway</html>"),
            "<html>bad gateway</html>"
        );
        assert_eq!(error_message(""), "no message");
        let mut h = HeaderMap::new();
        h.insert("x-ratelimit-remaining", "0".parse().unwrap());
        h.insert("x-ratelimit-reset", "1780000000".parse().unwrap());
        let a = answer_of(StatusCode::FORBIDDEN, &h, "API rate limit exceeded");
        assert_eq!(
            (a.remaining, a.reset, a.says_secondary),
            (Some(0), Some(1_780_000_000), false)
        );
        let s = answer_of(
            StatusCode::FORBIDDEN,
            &HeaderMap::new(),
            "You have exceeded a secondary rate limit",
        );
        assert!(s.says_secondary);
    }
}
