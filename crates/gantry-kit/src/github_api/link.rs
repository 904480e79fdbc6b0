//! The `Link` response header of GitHub's paginated REST lists
//! (`<https://api.github.com/…&page=2>; rel="next", <…>; rel="last"`).

/// The URL of `rel="next"`, if the header names one.
pub fn next_url(header: &str) -> Option<String> {
    header.split(',').find_map(|part| {
        let (url, params) = part.split_once(';')?;
        let url = url.trim().strip_prefix('<')?.strip_suffix('>')?;
        params
            .split(';')
            .any(|p| {
                let p = p.trim();
                p == "rel=\"next\"" || p == "rel=next"
            })
            .then(|| url.to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_next_among_the_relations() {
        let h = r#"<https://api.github.com/repositories/1/deployments?per_page=100&page=2>; rel="next", <https://api.github.com/repositories/1/deployments?per_page=100&page=4>; rel="last""#;
        assert_eq!(
            next_url(h).as_deref(),
            Some("https://api.github.com/repositories/1/deployments?per_page=100&page=2")
        );
        let last_page = r#"<https://x/d?page=1>; rel="first", <https://x/d?page=3>; rel="prev""#;
        assert_eq!(next_url(last_page), None);
        assert_eq!(next_url(""), None);
        assert_eq!(next_url("garbage; rel=\"next\""), None);
    }
}
