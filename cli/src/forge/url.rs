//! Forge URLs: checking and normalizing a base URL, the API URL derived from it, and the one
//! host/port split that remote-URL parsing (`crate::org`) and the token check (`http`) share.

use super::kind::ForgeKind;

/// What a forge url must look like.
pub const URL_HINT: &str = "a forge url is its base web address: http:// or https://, a host and an optional port and path, no user, query or fragment, e.g. https://git.example.com";

/// The REST root of a forge at `url` when none is configured: github.com's API has its own host,
/// GitHub Enterprise serves `/api/v3`, Gitea `/api/v1`, GitLab `/api/v4`.
pub fn default_api_url(kind: ForgeKind, url: &str) -> String {
    match kind {
        ForgeKind::Github => {
            let (scheme, host, base) = split_url(url);
            if host.eq_ignore_ascii_case("github.com") && base.is_empty() && scheme == "https" {
                "https://api.github.com".to_owned()
            } else {
                format!("{url}/api/v3")
            }
        }
        ForgeKind::Gitea => format!("{url}/api/v1"),
        ForgeKind::Gitlab => format!("{url}/api/v4"),
    }
}

/// Checks and normalizes a forge base URL: `http` or `https` with a host (and optional port), no
/// user info, query or fragment; scheme and host lowercased, trailing slashes removed.
///
/// # Errors
/// A lowercase reason when the URL is not usable.
pub fn normalize_url(raw: &str) -> Result<String, String> {
    let raw = raw.trim();
    let Some((scheme, rest)) = raw.split_once("://") else {
        return Err(format!("`{raw}` does not start with http:// or https://"));
    };
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return Err(format!(
            "the scheme `{scheme}` is not supported, use http or https"
        ));
    }
    if rest.contains(['?', '#']) {
        return Err("a query or fragment is not allowed".to_owned());
    }
    if rest.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("whitespace is not allowed".to_owned());
    }
    let (authority, path) = match rest.find('/') {
        Some(slash) => (&rest[..slash], &rest[slash..]),
        None => (rest, ""),
    };
    if authority.contains('@') {
        return Err("user info (`user@`) is not allowed in a forge url".to_owned());
    }
    if authority.ends_with(':') {
        return Err("the port after `:` is missing".to_owned());
    }
    let (host, port) =
        split_host_port(authority).ok_or_else(|| "the host is missing".to_owned())?;
    if !is_host(host) {
        return Err(format!(
            "`{host}` is not a host name (letters, digits, `-` and `.`), an IPv4 address or a \
             bracketed IPv6 address"
        ));
    }
    if let Some(port) = port {
        port.parse::<u16>()
            .map_err(|_| format!("the port `{port}` is not a number from 0 to 65535"))?;
    }
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
    if segments
        .iter()
        .any(|segment| segment.is_empty() || *segment == "." || *segment == "..")
    {
        return Err("the path has an empty, `.` or `..` segment".to_owned());
    }
    // A base path travels into remote URLs (ssh and https) and must come back out of them intact
    // (the `repo_config` fuzz target found a backslash that did not).
    if let Some(bad) = segments
        .iter()
        .flat_map(|segment| segment.chars())
        .find(|&c| {
            !(c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~' | '@' | '+' | '%'))
        })
    {
        return Err(format!(
            "the path may hold letters, digits and `-._~@+%`, not `{}`",
            bad.escape_default()
        ));
    }
    let mut url = format!("{scheme}://{}", host.to_ascii_lowercase());
    if let Some(port) = port {
        url.push(':');
        url.push_str(port);
    }
    for segment in segments {
        url.push('/');
        url.push_str(segment);
    }
    Ok(url)
}

/// True for a DNS name (ASCII letters, digits, `-`, `_`, dot-separated non-empty labels), an IPv4
/// address, or a bracketed IPv6 address: what a git remote URL can carry and hand back (found by
/// the `remote_url` and `repo_config` fuzz targets: a host with `'`, `:` or non-ASCII letters was
/// accepted, and the org could not be read back from the URL hyperforge wrote).
fn is_host(host: &str) -> bool {
    if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return inner.parse::<std::net::Ipv6Addr>().is_ok();
    }
    !host.is_empty()
        && host.split('.').all(|label| {
            !label.is_empty()
                && label
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
}

/// Splits `host[:port]` or `[v6]:port`; `None` when the host is empty or brackets are unbalanced.
pub(crate) fn split_host_port(authority: &str) -> Option<(&str, Option<&str>)> {
    let (host, port) = if authority.starts_with('[') {
        let end = authority.find(']')?;
        let host = &authority[..=end];
        match &authority[end + 1..] {
            "" => (host, None),
            rest => (host, Some(rest.strip_prefix(':')?)),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    if host.is_empty() || host == "[]" || host.contains(['[', ']']) && !host.starts_with('[') {
        return None;
    }
    Some((host, port.filter(|port| !port.is_empty())))
}

/// Splits a normalized URL into scheme, host (with port) and base path (no slashes at the ends).
pub(super) fn split_url(url: &str) -> (&str, &str, &str) {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    match rest.split_once('/') {
        Some((host, path)) => (scheme, host, path.trim_matches('/')),
        None => (scheme, rest, ""),
    }
}

/// `host:port` without the port; IPv6 brackets are kept.
pub(super) fn host_without_port(host: &str) -> &str {
    split_host_port(host).map_or(host, |(host, _)| host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_url_rules() {
        assert_eq!(
            normalize_url("HTTPS://GitHub.com/").as_deref(),
            Ok("https://github.com")
        );
        assert_eq!(
            normalize_url("http://h//gh").map_err(|reason| reason.contains("empty")),
            Err(true)
        );
        assert_eq!(
            normalize_url("http://[::1]:8080/gh/").as_deref(),
            Ok("http://[::1]:8080/gh")
        );
        for bad in [
            "github.com",
            "ssh://github.com",
            "https://",
            "https://:80",
            "https://host?x=1",
            "https://host/#frag",
            "https://user@host",
            "https://host:99999",
            "https://host:abc",
            "https://ho st",
        ] {
            assert!(normalize_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn urls_with_hosts_no_remote_can_carry_are_refused() {
        // Inputs the fuzz targets found (fuzz/regressions/): each was accepted before.
        for bad in [
            "http://127'0.0http:\u{447}tp:",
            "http://127.0.0.1::///",
            "https://git.example.com\u{452}ub",
            "https://host:",
            "https://a..b",
            "https://[zz::1]",
            "https://.example.com",
            "https://git.example.com/a\\b",
            "https://git.example.com/s/*x",
            "https://git.example.com/\u{aaaa}",
        ] {
            assert!(normalize_url(bad).is_err(), "{bad:?} is refused");
        }
        for good in [
            "https://git.example.com",
            "http://127.0.0.1:8080/gh",
            "https://[::1]:3000",
            "https://my_host.internal",
        ] {
            let normal = normalize_url(good).expect(good);
            assert_eq!(normalize_url(&normal).as_ref(), Ok(&normal), "idempotent");
        }
    }
}
