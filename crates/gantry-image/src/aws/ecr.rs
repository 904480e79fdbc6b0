//! The ECR API edge: the registry token, and the repository (describe, create with settings,
//! lifecycle policy). [`Ecr`] is the ECR side of one run.

use crate::config::RepoConfig;
use crate::reference::{self, RegistryAddr};
use crate::registry::Registry;
use aws_sdk_ecr::Client;
use aws_sdk_ecr::operation::create_repository::CreateRepositoryError;
use aws_sdk_ecr::operation::describe_repositories::DescribeRepositoriesError;
use aws_sdk_ecr::operation::get_authorization_token::GetAuthorizationTokenOutput;
use aws_sdk_ecr::types::{ImageScanningConfiguration, ImageTagMutability};
use base64::Engine as _;
use gantry_kit::Error;
use gantry_kit::aws::{AwsArgs, aws_error};

/// Registry credentials from GetAuthorizationToken.
pub struct Token {
    /// base64 `AWS:password`, sent as HTTP Basic.
    pub basic: String,
    /// The registry the token is for (`ACCOUNT.dkr.ecr.REGION.amazonaws.com`).
    pub registry: Option<String>,
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Token")
            .field("registry", &self.registry)
            .finish_non_exhaustive()
    }
}

/// Takes the token out of a GetAuthorizationToken answer and masks it (the token and the
/// password inside it) through `mask` before anything else can see it.
pub fn token_from(
    out: &GetAuthorizationTokenOutput,
    mask: &mut dyn FnMut(&str),
) -> Result<Token, Error> {
    let data = out
        .authorization_data()
        .first()
        .ok_or_else(|| Error::failed("ECR GetAuthorizationToken returned no authorization data"))?;
    let basic = data
        .authorization_token()
        .filter(|t| !t.is_empty())
        .ok_or_else(|| Error::failed("ECR GetAuthorizationToken returned no token"))?
        .to_owned();
    mask(&basic);
    if let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(&basic)
        && let Some((_, password)) = String::from_utf8_lossy(&decoded).split_once(':')
    {
        mask(password);
    }
    let registry = data.proxy_endpoint().map(|p| {
        p.trim_start_matches("https://")
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned()
    });
    Ok(Token { basic, registry })
}

/// Fetches and masks the registry token.
pub async fn token(client: &Client) -> Result<Token, Error> {
    let out = client
        .get_authorization_token()
        .send()
        .await
        .map_err(|e| aws_error("ECR GetAuthorizationToken", &e))?;
    token_from(&out, &mut |s| gantry_kit::report::mask(s))
}

/// Whether the token may be sent to `addr`: only to the ECR registry it was issued for (the
/// account and region of GetAuthorizationToken's proxy endpoint) or to a loopback registry (the
/// tests'). Any other host gets no credentials (docs/security.md).
pub(crate) fn token_goes_to(token: &Token, addr: &RegistryAddr) -> bool {
    addr.is_loopback()
        || token
            .registry
            .as_deref()
            .is_some_and(|r| r.eq_ignore_ascii_case(&addr.host))
}

/// The repository settings that matter to a push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoInfo {
    pub scan_on_push: bool,
    /// `MUTABLE`, `IMMUTABLE`, `IMMUTABLE_WITH_EXCLUSION`, …
    pub mutability: String,
}

impl RepoInfo {
    pub fn immutable(&self) -> bool {
        // IMMUTABLE_WITH_EXCLUSION is treated as immutable: moving a tag is refused rather than
        // second-guessing the exclusion filters.
        self.mutability.starts_with("IMMUTABLE")
    }
}

/// What `--create-repository` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoSettings {
    pub scan_on_push: bool,
    pub immutable: bool,
    pub lifecycle_keep: u32,
    pub untagged_days: u32,
}

/// DescribeRepositories for one repository: None when it does not exist.
pub async fn describe(
    client: &Client,
    registry_id: Option<&str>,
    repo: &str,
) -> Result<Option<RepoInfo>, Error> {
    match client
        .describe_repositories()
        .set_registry_id(registry_id.map(str::to_owned))
        .repository_names(repo)
        .send()
        .await
    {
        Ok(out) => Ok(out.repositories().first().map(|r| RepoInfo {
            scan_on_push: r
                .image_scanning_configuration()
                .is_some_and(|s| s.scan_on_push()),
            mutability: r
                .image_tag_mutability()
                .map_or("MUTABLE", |m| m.as_str())
                .to_owned(),
        })),
        Err(e)
            if matches!(
                e.as_service_error(),
                Some(DescribeRepositoriesError::RepositoryNotFoundException(_))
            ) =>
        {
            Ok(None)
        }
        Err(e) => Err(aws_error("ECR DescribeRepositories", &e)),
    }
}

/// Differences between an existing repository and the asked settings (warnings, not errors).
pub fn differences(info: &RepoInfo, want: &RepoSettings) -> Vec<String> {
    let mut d = Vec::new();
    if info.scan_on_push != want.scan_on_push {
        d.push(format!(
            "scan-on-push is {} (asked: {})",
            info.scan_on_push, want.scan_on_push
        ));
    }
    if info.immutable() != want.immutable {
        d.push(format!(
            "tag mutability is {} (asked: {})",
            info.mutability,
            if want.immutable {
                "IMMUTABLE"
            } else {
                "MUTABLE"
            }
        ));
    }
    d
}

/// Creates the repository with the settings and lifecycle policy. A repository created by a
/// concurrent run in between counts as existing.
pub async fn create(
    client: &Client,
    registry_id: Option<&str>,
    repo: &str,
    s: &RepoSettings,
) -> Result<bool, Error> {
    let created = client
        .create_repository()
        .set_registry_id(registry_id.map(str::to_owned))
        .repository_name(repo)
        .image_tag_mutability(if s.immutable {
            ImageTagMutability::Immutable
        } else {
            ImageTagMutability::Mutable
        })
        .image_scanning_configuration(
            ImageScanningConfiguration::builder()
                .scan_on_push(s.scan_on_push)
                .build(),
        )
        .send()
        .await;
    match created {
        Ok(_) => {}
        Err(e)
            if matches!(
                e.as_service_error(),
                Some(CreateRepositoryError::RepositoryAlreadyExistsException(_))
            ) =>
        {
            return Ok(false);
        }
        Err(e) => return Err(aws_error("ECR CreateRepository", &e)),
    }
    let policy = crate::plan::lifecycle_policy(s.lifecycle_keep, s.untagged_days);
    client
        .put_lifecycle_policy()
        .set_registry_id(registry_id.map(str::to_owned))
        .repository_name(repo)
        .lifecycle_policy_text(policy.to_string())
        .send()
        .await
        .map_err(|e| aws_error("ECR PutLifecyclePolicy", &e))?;
    Ok(true)
}

/// The ECR side of a run: a client, and (unless the registry is a loopback HTTP one) a token.
pub(crate) struct Ecr {
    client: Client,
    token: Option<Token>,
}

/// What DescribeRepositories said about the destination.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RepositoryState {
    pub(crate) immutable: bool,
    pub(crate) create: bool,
}

impl Ecr {
    /// The ECR client, in the region of `registry` when it is an ECR host (its token only
    /// works there), else in the SDK's region.
    pub(crate) async fn connect(args: &AwsArgs, registry: Option<&RegistryAddr>) -> Self {
        let sdk = gantry_kit::aws::sdk_config(args, Some("us-east-1")).await;
        let mut conf = aws_sdk_ecr::config::Builder::from(&sdk);
        if let Some(region) = registry.and_then(RegistryAddr::ecr_region) {
            conf = conf.region(aws_sdk_ecr::config::Region::new(region.to_owned()));
        }
        Self {
            client: Client::from_conf(conf.build()),
            token: None,
        }
    }

    /// A registry client for `addr` (or the caller's ECR registry), with credentials when it
    /// is not a loopback HTTP registry. The token is fetched once.
    pub(crate) async fn registry(
        &mut self,
        addr: Option<&RegistryAddr>,
        input: &str,
    ) -> Result<Registry, Error> {
        if let Some(a) = addr.filter(|a| a.insecure) {
            return Registry::new(a.clone(), None).map_err(Error::failed);
        }
        if self.token.is_none() {
            self.token = Some(token(&self.client).await?);
        }
        let t = self.token.as_ref().expect("set above");
        let addr = match addr {
            Some(a) => a.clone(),
            None => {
                let host = t.registry.as_deref().ok_or_else(|| {
                    Error::failed("ECR GetAuthorizationToken named no registry")
                        .with_hint(format!("pass {input} explicitly"))
                })?;
                reference::parse_registry(host).map_err(Error::failed)?
            }
        };
        if !token_goes_to(t, &addr) {
            tracing::info!(
                "{}: not the ECR registry the token was issued for ({}); no credentials sent",
                addr.host,
                t.registry.as_deref().unwrap_or("none named")
            );
            return Registry::new(addr, None).map_err(Error::failed);
        }
        Registry::new(addr, Some(&t.basic)).map_err(Error::failed)
    }

    /// Describes `repo` (read-only): whether its tags are immutable, and whether it still has
    /// to be created (only with `--create-repository`; otherwise a missing one is exit 1).
    pub(crate) async fn repository(
        &self,
        reg: &RegistryAddr,
        repo: &str,
        rc: &RepoConfig,
    ) -> Result<RepositoryState, Error> {
        match describe(&self.client, reg.ecr_account(), repo).await? {
            Some(info) => {
                if rc.create {
                    for d in differences(&info, &rc.settings) {
                        tracing::warn!("repository {repo} exists and is left as it is: {d}");
                    }
                }
                Ok(RepositoryState { immutable: info.immutable(), create: false })
            }
            None if rc.create => Ok(RepositoryState { immutable: rc.settings.immutable, create: true }),
            None => Err(Error::failed(format!("repository {repo} does not exist in ECR"))
                .with_hint("create it (infra/) or pass --create-repository (input `create-repository: true`)")),
        }
    }

    /// Creates the repository a [`RepositoryState`] says is missing: the first write of a run.
    pub(crate) async fn create_missing(
        &self,
        reg: &RegistryAddr,
        repo: &str,
        rc: &RepoConfig,
        state: &RepositoryState,
    ) -> Result<(), Error> {
        if state.create && create(&self.client, reg.ecr_account(), repo, &rc.settings).await? {
            tracing::info!(
                "created repository {repo} (scan on push: {}, tags {}, keep the last {} images)",
                rc.settings.scan_on_push,
                if rc.settings.immutable {
                    "immutable"
                } else {
                    "mutable"
                },
                rc.settings.lifecycle_keep
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_ecr::types::AuthorizationData;

    #[test]
    fn token_is_masked_before_use() {
        let basic = base64::engine::general_purpose::STANDARD.encode("AWS:s3cr3t-password");
        let out = GetAuthorizationTokenOutput::builder()
            .authorization_data(
                AuthorizationData::builder()
                    .authorization_token(&basic)
                    .proxy_endpoint("https://123456789012.dkr.ecr.us-east-1.amazonaws.com")
                    .build(),
            )
            .build();
        let mut masked = Vec::new();
        let t = token_from(&out, &mut |s| masked.push(s.to_owned())).unwrap();
        assert_eq!(masked, vec![basic.clone(), "s3cr3t-password".to_owned()]);
        assert_eq!(t.basic, basic);
        assert_eq!(
            t.registry.as_deref(),
            Some("123456789012.dkr.ecr.us-east-1.amazonaws.com")
        );
        assert!(
            !format!("{t:?}").contains(&basic),
            "Debug never shows the token"
        );
        let empty = GetAuthorizationTokenOutput::builder().build();
        assert!(token_from(&empty, &mut |_| {}).is_err());
    }

    #[test]
    fn the_token_goes_only_to_its_own_registry_or_loopback() {
        let token = Token {
            basic: "dG9rZW4=".into(),
            registry: Some("123456789012.dkr.ecr.us-east-1.amazonaws.com".into()),
        };
        let to = |s: &str| token_goes_to(&token, &reference::parse_registry(s).unwrap());
        assert!(to("123456789012.dkr.ecr.us-east-1.amazonaws.com"));
        assert!(to("https://123456789012.dkr.ecr.us-east-1.amazonaws.com"));
        assert!(to("https://127.0.0.1:5000"));
        assert!(!to("evil.example.com"), "a foreign host");
        assert!(!to(
            "https://123456789012.dkr.ecr.us-east-1.amazonaws.com.evil.example"
        ));
        assert!(
            !to("210987654321.dkr.ecr.us-east-1.amazonaws.com"),
            "another account"
        );
        assert!(
            !to("123456789012.dkr.ecr.eu-west-1.amazonaws.com"),
            "another region"
        );
        let unnamed = Token {
            basic: "x".into(),
            registry: None,
        };
        assert!(!token_goes_to(
            &unnamed,
            &reference::parse_registry("evil.example.com").unwrap()
        ));
    }

    #[test]
    fn differences_are_named() {
        let info = RepoInfo {
            scan_on_push: false,
            mutability: "MUTABLE".into(),
        };
        let want = RepoSettings {
            scan_on_push: true,
            immutable: true,
            lifecycle_keep: 50,
            untagged_days: 7,
        };
        assert_eq!(
            differences(&info, &want),
            vec![
                "scan-on-push is false (asked: true)",
                "tag mutability is MUTABLE (asked: IMMUTABLE)"
            ]
        );
        assert!(
            differences(
                &RepoInfo {
                    scan_on_push: true,
                    mutability: "IMMUTABLE".into()
                },
                &want
            )
            .is_empty()
        );
    }
}
