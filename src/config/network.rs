//! How an instance reaches its hosts: the CAs it trusts and the proxy it goes through, from its
//! keys and the environment as curl reads it.

use super::instance::Settings;
use super::ConfigError;
use crate::http::Network;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Trust and proxy: `tls_roots`, `ca_file` with `SSL_CERT_FILE` and `SSL_CERT_DIR`, and `proxy`,
/// else the proxy variables as curl reads them for https (lower-case first, then upper-case,
/// then `all_proxy`), with the hosts of `no_proxy`/`NO_PROXY` reached directly.
pub(super) fn network(
    reader: &Settings,
    env: &BTreeMap<String, String>,
) -> Result<Network, ConfigError> {
    let var = |name: &str| env.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
    let system_roots = match reader.choice("tls_roots").as_deref() {
        None | Some("bundled" | "webpki") => false,
        Some("system") => true,
        Some(other) => {
            return Err(reader.error(&format!("tls_roots {other:?} is not bundled or system")))
        }
    };
    // The instance's own CA is read once, here: a wrong file is a configuration error, and the
    // agent trusts what was read.
    let private_cas = match reader.text("ca_file") {
        Some(file) => crate::http::network::certificates(Path::new(file))
            .map_err(|why| reader.error(&format!("ca_file: {why}")))?,
        None => Vec::new(),
    };
    // The environment's are read when an https agent is first built (often the whole system
    // bundle); here only whether they are there.
    let mut ca_paths: Vec<PathBuf> = var("SSL_CERT_FILE")
        .map(PathBuf::from)
        .into_iter()
        .collect();
    ca_paths.extend(var("SSL_CERT_DIR").into_iter().flat_map(|dirs| {
        dirs.split(':')
            .filter(|d| !d.is_empty())
            .map(PathBuf::from)
            .collect::<Vec<_>>()
    }));
    if let Some(missing) = ca_paths.iter().find(|p| !p.exists()) {
        return Err(reader.error(&format!(
            "SSL_CERT_FILE or SSL_CERT_DIR names {}, which does not exist",
            missing.display()
        )));
    }
    if system_roots && crate::http::network::system_bundle().is_none() {
        return Err(reader.error(
            "tls_roots = \"system\", but this machine has no CA bundle: install ca-certificates, or use ca_file",
        ));
    }
    let proxy = reader
        .text("proxy")
        .or_else(|| {
            ["https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"]
                .into_iter()
                .find_map(var)
        })
        .map(str::to_string);
    let no_proxy = ["no_proxy", "NO_PROXY"]
        .into_iter()
        .find_map(var)
        .map(|list| {
            list.split(',')
                .map(str::trim)
                .filter(|h| !h.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    Ok(Network {
        system_roots,
        private_cas,
        ca_paths,
        proxy,
        no_proxy,
    })
}
