//! GitHub's REST and GraphQL APIs for the actions that write to GitHub (deployment records,
//! pull-request comments), over octocrab's generic requests with our own serde types.
//!
//! - [`GitHubApi`]: the client (`GITHUB_API_URL` / `GITHUB_GRAPHQL_URL`, GitHub Enterprise Server
//!   included), with rate-limit, secondary-limit and 5xx handling from [`retry`].
//! - [`ApiError`]: what GitHub refused, explained with the permission the token needs.
//! - [`Token`]: the token, masked before anything could print it and never in a Debug dump.
//! - [`link`]: the `Link` header's `rel="next"`.

mod client;
mod error;
pub mod link;
pub mod retry;
mod token;

pub use client::{ApiSettings, GitHubApi, Page};
pub use error::ApiError;
pub use token::Token;
