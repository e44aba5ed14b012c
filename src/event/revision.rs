//! Revision strings → git commit ids (PROTOCOL §1).
//!
//! Only a 40-hex commit id ever leaves this module: every URL we build embeds it,
//! so anything else (OCI digests, chart versions, manifest checksums) must stop here.

use std::fmt;

/// A git commit id: exactly 40 lower-case hex characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CommitId(String);

impl CommitId {
    /// Accepts exactly 40 hex characters (either case, stored lower-case).
    pub fn parse(text: &str) -> Option<CommitId> {
        if text.len() == 40 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            Some(CommitId(text.to_ascii_lowercase()))
        } else {
            None
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first 7 characters, as Git abbreviates it.
    pub fn short(&self) -> &str {
        &self.0[..7]
    }
}

impl fmt::Display for CommitId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a revision names no commit; the event is then ignored, not rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoCommit {
    /// An OCI or Bucket artifact digest (`sha256:…`, `latest@sha256:…`).
    Digest(String),
    /// A bare 40-hex `revision`: the manifest checksum old kustomize-controllers sent.
    Checksum(String),
    /// Anything else that is not 40 hex after the separator (chart versions, tags).
    NotACommit(String),
}

impl fmt::Display for NoCommit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NoCommit::Digest(r) => write!(f, "revision {r:?} is an artifact digest, not a git commit"),
            NoCommit::Checksum(r) => write!(
                f,
                "revision {r:?} is a bare checksum (old kustomize-controller garbage collection), not a git commit"
            ),
            NoCommit::NotACommit(r) => write!(f, "revision {r:?} holds no 40-hex git commit id"),
        }
    }
}

/// `main@sha1:<sha>`, `refs/tags/v1@sha1:<sha>`, `sha1:<sha>` → what follows the last `:`;
/// `main/<sha>`, `release/v1.2/<sha>` → the last `/` segment.
pub fn commit_of_revision(revision: &str) -> Result<CommitId, NoCommit> {
    let revision = revision.trim();
    if revision.contains("sha256:") {
        return Err(NoCommit::Digest(revision.to_string()));
    }
    if !revision.contains([':', '/', '@']) {
        return Err(if CommitId::parse(revision).is_some() {
            NoCommit::Checksum(revision.to_string())
        } else {
            NoCommit::NotACommit(revision.to_string())
        });
    }
    let tail = match revision.rfind(':') {
        Some(i) => &revision[i + 1..],
        None => revision.rsplit('/').next().unwrap_or(revision),
    };
    CommitId::parse(tail).ok_or_else(|| NoCommit::NotACommit(revision.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "40d6b21b888db0ca794876cf7bdd399e3da2137e";

    #[test]
    fn every_revision_shape_flux_sends_yields_the_commit() {
        for rev in [
            format!("main@sha1:{SHA}"),
            format!("refs/tags/v1@sha1:{SHA}"),
            format!("sha1:{SHA}"),
            format!("main/{SHA}"),
            format!("release/v1.2/{SHA}"),
        ] {
            assert_eq!(commit_of_revision(&rev).unwrap().as_str(), SHA, "{rev}");
        }
    }

    #[test]
    fn upper_case_hex_is_normalised() {
        let upper = SHA.to_ascii_uppercase();
        assert_eq!(
            commit_of_revision(&format!("main/{upper}"))
                .unwrap()
                .as_str(),
            SHA
        );
    }

    #[test]
    fn digests_versions_and_checksums_are_no_commit() {
        let digest = "sha256:1111f92aba67995f108b3ee3ffdc00edcfe206b11fbbb459c8ef4c4a8209fca8";
        assert!(matches!(
            commit_of_revision(digest),
            Err(NoCommit::Digest(_))
        ));
        assert!(matches!(
            commit_of_revision(&format!("latest@{digest}")),
            Err(NoCommit::Digest(_))
        ));
        assert!(matches!(
            commit_of_revision(SHA),
            Err(NoCommit::Checksum(_))
        ));
        assert!(matches!(
            commit_of_revision("6.7.1+5394cb7f4833"),
            Err(NoCommit::NotACommit(_))
        ));
        assert!(matches!(
            commit_of_revision("main/abc"),
            Err(NoCommit::NotACommit(_))
        ));
    }

    #[test]
    fn path_and_query_characters_never_pass() {
        for bad in [
            format!("main/../{SHA}x"),
            format!("main/{}?", &SHA[..39]),
            format!("main/{SHA}#"),
            format!("main/{SHA}\n"),
            format!("main/{SHA} x"),
        ] {
            if let Ok(c) = commit_of_revision(&bad) {
                assert!(CommitId::parse(c.as_str()).is_some());
                assert_eq!(c.as_str().len(), 40);
            }
        }
        assert!(commit_of_revision(&format!("main/{SHA}?x=1")).is_err());
    }
}
