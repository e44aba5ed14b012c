//! The two URL operations we need: percent-encoding a path segment or query value, and
//! comparing origins (scheme, host, port) before a token is sent somewhere.

use ureq::http::Uri;

/// Everything but RFC 3986's unreserved characters (letters, digits, `-._~`).
const RESERVED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes a path segment or query value: everything but unreserved characters.
pub fn encode(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, RESERVED).to_string()
}

/// `scheme://host:port`, lower-cased, with the default port filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin(String);

impl Origin {
    pub fn of(url: &str) -> Option<Origin> {
        let uri: Uri = url.trim().parse().ok()?;
        let scheme = uri.scheme_str()?.to_ascii_lowercase();
        let host = uri.host()?.to_ascii_lowercase();
        let port = uri.port_u16().unwrap_or(match scheme.as_str() {
            "https" => 443,
            "http" => 80,
            _ => return None,
        });
        Some(Origin(format!("{scheme}://{host}:{port}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Loopback hosts may be reached over plain http (local relays, tests); nothing else may
/// unless the configuration says so.
pub fn is_loopback(url: &str) -> bool {
    let Ok(uri) = url.trim().parse::<Uri>() else {
        return false;
    };
    match uri.host() {
        Some(host) => {
            let host = host.trim_start_matches('[').trim_end_matches(']');
            host.eq_ignore_ascii_case("localhost")
                || host
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        }
        None => false,
    }
}

pub fn is_https(url: &str) -> bool {
    url.trim()
        .parse::<Uri>()
        .ok()
        .and_then(|u| u.scheme_str().map(|s| s.eq_ignore_ascii_case("https")))
        == Some(true)
}

/// A URL fit for a message or `config`: the credentials of its authority hidden
/// (`http://me:***@proxy:3128`; a user alone may be a token: `https://***@host`). A database
/// URL's user is a role name, not a secret: `postgres://connector@db` stays as it is.
pub fn without_credentials(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(end);
    let database = matches!(
        scheme.to_ascii_lowercase().as_str(),
        "postgres" | "postgresql"
    );
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let shown = match userinfo.split_once(':') {
                Some((user, _)) => format!("{user}:***"),
                None if database => userinfo.to_string(),
                None => "***".to_string(),
            };
            format!("{scheme}://{shown}@{host}{path}")
        }
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_in_a_url_are_hidden_and_nothing_else() {
        assert_eq!(
            without_credentials("http://me:s3cret@proxy.acme:3128"),
            "http://me:***@proxy.acme:3128"
        );
        assert_eq!(
            without_credentials("https://ghp_token@hooks.acme/x?a=b"),
            "https://***@hooks.acme/x?a=b"
        );
        assert_eq!(
            without_credentials("https://hooks.acme/team@x"),
            "https://hooks.acme/team@x",
            "an @ in the path is no credential"
        );
        assert_eq!(without_credentials("flux-system/apps"), "flux-system/apps");
        assert_eq!(
            without_credentials("postgres://connector:pw@db:5432/c?sslmode=require"),
            "postgres://connector:***@db:5432/c?sslmode=require"
        );
        assert_eq!(
            without_credentials("postgresql://connector@db/c"),
            "postgresql://connector@db/c",
            "a role name is no secret"
        );
    }

    #[test]
    fn encodes_reserved_characters() {
        assert_eq!(encode("my repo/x?y#z"), "my%20repo%2Fx%3Fy%23z");
        assert_eq!(encode("Status"), "Status");
    }

    #[test]
    fn origins_compare_scheme_host_and_port() {
        let a = Origin::of("https://dev.azure.com/Org/").unwrap();
        assert_eq!(a, Origin::of("HTTPS://DEV.AZURE.COM:443/other").unwrap());
        assert_ne!(
            a,
            Origin::of("https://dev.azure.com.evil.example/").unwrap()
        );
        assert_ne!(a, Origin::of("http://dev.azure.com/").unwrap());
        assert_ne!(a, Origin::of("https://dev.azure.com:8443/").unwrap());
        assert_eq!(Origin::of("not a url"), None);
    }

    #[test]
    fn loopback_is_recognised() {
        assert!(is_loopback("http://127.0.0.1:8080/x"));
        assert!(is_loopback("http://localhost/x"));
        assert!(is_loopback("http://[::1]:9/x"));
        assert!(!is_loopback("http://127.0.0.1.example.com/x"));
        assert!(!is_loopback("http://10.0.0.1/x"));
    }
}
