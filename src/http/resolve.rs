//! Name resolution without a thread for addresses that need no lookup. ureq bounds a lookup by
//! the request's timeout with a thread per request; an IP literal (a loopback mock, a proxy or
//! a host given by address) has nothing to look up, so it skips that thread.

use std::net::{IpAddr, SocketAddr};
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::NextTimeout;

#[derive(Debug, Default)]
pub struct Literal(DefaultResolver);

/// The socket address of a URI whose host is an IP literal.
fn literal(uri: &ureq::http::Uri) -> Option<SocketAddr> {
    let host = uri.host()?.trim_start_matches('[').trim_end_matches(']');
    let ip: IpAddr = host.parse().ok()?;
    let port = uri.port_u16().or(match uri.scheme_str()? {
        "https" => Some(443),
        "http" => Some(80),
        _ => None,
    })?;
    Some(SocketAddr::new(ip, port))
}

impl Resolver for Literal {
    fn resolve(
        &self,
        uri: &ureq::http::Uri,
        config: &ureq::config::Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        match literal(uri) {
            Some(addr) => {
                let mut addrs = self.empty();
                addrs.push(addr);
                Ok(addrs)
            }
            None => self.0.resolve(uri, config, timeout),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_literals_resolve_to_themselves_and_names_are_looked_up() {
        let uri = |s: &str| s.parse::<ureq::http::Uri>().unwrap();
        assert_eq!(
            literal(&uri("http://127.0.0.1:8080/x")),
            Some("127.0.0.1:8080".parse().unwrap())
        );
        assert_eq!(
            literal(&uri("https://[::1]/x")),
            Some("[::1]:443".parse().unwrap())
        );
        assert_eq!(literal(&uri("https://api.github.com/x")), None);
    }
}
