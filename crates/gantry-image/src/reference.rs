//! Names: registries, repositories, tags and `REPO@sha256:…` / `REPO:TAG` references.

use crate::source::valid_digest;
use std::net::IpAddr;

/// Where the registry protocol goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RegistryAddr {
    /// `https://HOST` or `http://127.0.0.1:PORT`.
    pub(crate) base: String,
    /// `HOST[:PORT]`, as image references name it.
    pub(crate) host: String,
    /// Plain HTTP (loopback only): no credentials are sent.
    pub(crate) insecure: bool,
}

impl RegistryAddr {
    /// The account id when the host is an ECR registry (`ACCOUNT.dkr.ecr.REGION.amazonaws.com`).
    pub(crate) fn ecr_account(&self) -> Option<&str> {
        let (account, rest) = self.host.split_once('.')?;
        (rest.starts_with("dkr.ecr.")
            && account.len() == 12
            && account.bytes().all(|b| b.is_ascii_digit()))
        .then_some(account)
    }

    /// A registry on this machine (`localhost`, `127.0.0.1`, `[::1]`).
    pub(crate) fn is_loopback(&self) -> bool {
        is_loopback(&self.host)
    }

    /// The region of an ECR host.
    pub(crate) fn ecr_region(&self) -> Option<&str> {
        self.ecr_account()?;
        self.host.split('.').nth(3)
    }
}

/// Parses `--registry`: `HOST`, `https://HOST`, or `http://LOOPBACK:PORT`.
pub(crate) fn parse_registry(s: &str) -> Result<RegistryAddr, String> {
    let s = s.trim().trim_end_matches('/');
    let (insecure, host) = if let Some(h) = s.strip_prefix("http://") {
        (true, h)
    } else if let Some(h) = s.strip_prefix("https://") {
        (false, h)
    } else if s.contains("://") {
        return Err(format!("`{s}` is neither https:// nor http://"));
    } else {
        (false, s)
    };
    if host.is_empty()
        || host.contains('/')
        || host.contains('@')
        || host.chars().any(char::is_whitespace)
    {
        return Err(format!("`{s}` is not a registry host"));
    }
    if insecure && !is_loopback(host) {
        return Err(format!(
            "`{s}` is plain HTTP to a host that is not loopback; credentials and images would cross the network unencrypted"
        ));
    }
    let scheme = if insecure { "http" } else { "https" };
    Ok(RegistryAddr {
        base: format!("{scheme}://{host}"),
        host: host.to_owned(),
        insecure,
    })
}

fn is_loopback(host_port: &str) -> bool {
    let host = if let Some(rest) = host_port.strip_prefix('[') {
        rest.split_once(']').map_or(rest, |(h, _)| h)
    } else {
        host_port.rsplit_once(':').map_or(host_port, |(h, _)| h)
    };
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// ECR's repository name rule: lower-case path components of `[a-z0-9]` joined by `.`, `_`, `-`,
/// separated by `/`; 2 to 256 characters.
pub(crate) fn check_repository(name: &str) -> Result<(), String> {
    let ok_component = |c: &str| {
        !c.is_empty()
            && c.bytes()
                .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'.' | b'_' | b'-'))
            && c.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
            && c.bytes().last().is_some_and(|b| b.is_ascii_alphanumeric())
            && !c.contains("..")
            && !c.contains("__")
            && !c.contains("--")
    };
    if !(2..=256).contains(&name.len()) || !name.split('/').all(ok_component) {
        return Err(format!("`{name}` is not a valid repository name"));
    }
    Ok(())
}

/// The registry tag rule: `[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`.
pub(crate) fn check_tag(tag: &str) -> Result<(), String> {
    if tag.len() > 128 {
        return Err(format!(
            "`{}…` is {} characters; a tag has at most 128",
            &tag[..tag.char_indices().nth(20).map_or(tag.len(), |(i, _)| i)],
            tag.len()
        ));
    }
    let mut bytes = tag.bytes();
    let first_ok = bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !first_ok || !bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-')) {
        return Err(format!("`{tag}` is not a valid tag"));
    }
    Ok(())
}

pub(crate) const REPOSITORY_RULE: &str =
    "lower-case letters, digits and . _ - between them, path parts separated by /, e.g. `shop/api`";
pub(crate) const TAG_RULE: &str =
    "letters, digits, _ . - (not first: . -), at most 128 characters, e.g. `sha-abc1234`";

/// What `promote --from` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Reference {
    Digest(String),
    Tag(String),
}

impl Reference {
    pub(crate) fn as_str(&self) -> &str {
        match self {
            Self::Digest(d) | Self::Tag(d) => d,
        }
    }
}

/// Parses `REPO@sha256:…` or `REPO:TAG`.
pub(crate) fn parse_from(s: &str) -> Result<(String, Reference), String> {
    let s = s.trim();
    let (repo, reference) = if let Some((repo, digest)) = s.split_once('@') {
        if !valid_digest(digest) {
            return Err(format!("`{digest}` is not a sha256 digest"));
        }
        (repo, Reference::Digest(digest.to_owned()))
    } else if let Some((repo, tag)) = s.rsplit_once(':') {
        check_tag(tag)?;
        (repo, Reference::Tag(tag.to_owned()))
    } else {
        return Err(format!("`{s}` names no tag or digest"));
    };
    check_repository(repo)?;
    Ok((repo.to_owned(), reference))
}

/// Parses `REPO[:TAG]`.
pub(crate) fn parse_to(s: &str) -> Result<(String, Option<String>), String> {
    let s = s.trim();
    let (repo, tag) = match s.rsplit_once(':') {
        Some((r, t)) => {
            check_tag(t)?;
            (r, Some(t.to_owned()))
        }
        None => (s, None),
    };
    check_repository(repo)?;
    Ok((repo.to_owned(), tag))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registries() {
        let r = parse_registry("http://127.0.0.1:5000").unwrap();
        assert_eq!(
            (r.base.as_str(), r.host.as_str(), r.insecure),
            ("http://127.0.0.1:5000", "127.0.0.1:5000", true)
        );
        assert!(parse_registry("http://localhost:5000").is_ok());
        assert!(parse_registry("http://[::1]:5000").is_ok());
        let e = parse_registry("http://10.0.0.5:5000").unwrap_err();
        assert!(e.contains("not loopback"), "{e}");
        assert!(parse_registry("http://registry.example.com").is_err());
        let ecr = parse_registry("123456789012.dkr.ecr.eu-west-1.amazonaws.com").unwrap();
        assert_eq!(
            ecr.base,
            "https://123456789012.dkr.ecr.eu-west-1.amazonaws.com"
        );
        assert_eq!(ecr.ecr_account(), Some("123456789012"));
        assert_eq!(ecr.ecr_region(), Some("eu-west-1"));
        assert_eq!(r.ecr_account(), None);
        assert!(parse_registry("ftp://x").is_err());
        assert!(parse_registry("a/b").is_err());
    }

    #[test]
    fn repositories_and_tags() {
        for ok in ["shop/api", "app", "a.b_c-d/e9"] {
            assert!(check_repository(ok).is_ok(), "{ok}");
        }
        for bad in ["Shop", "a", "-app", "app-", "a//b", "a b", "app/", "a__b"] {
            assert!(check_repository(bad).is_err(), "{bad}");
        }
        for ok in ["latest", "sha-abc1234", "_x", "v1.2.3", &"a".repeat(128)] {
            assert!(check_tag(ok).is_ok(), "{ok}");
        }
        for bad in ["", ".x", "-x", "a/b", "a:b", "ümlaut"] {
            assert!(check_tag(bad).is_err(), "{bad}");
        }
        let long = "a".repeat(129);
        assert!(check_tag(&long).unwrap_err().contains("at most 128"));
    }

    #[test]
    fn references() {
        let d = format!("sha256:{}", "a".repeat(64));
        assert_eq!(
            parse_from(&format!("shop/api@{d}")).unwrap(),
            ("shop/api".into(), Reference::Digest(d.clone()))
        );
        assert_eq!(
            parse_from("shop/api:v1").unwrap(),
            ("shop/api".into(), Reference::Tag("v1".into()))
        );
        assert!(parse_from("shop/api").is_err());
        assert!(parse_from("shop/api@sha256:12").is_err());
        assert_eq!(parse_to("prod/api").unwrap(), ("prod/api".into(), None));
        assert_eq!(
            parse_to("prod/api:v1").unwrap(),
            ("prod/api".into(), Some("v1".into()))
        );
    }
}
