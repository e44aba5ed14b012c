//! Flux `generic-hmac`: `X-Signature: <alg>=<hex>`, an HMAC of the raw body (PROTOCOL §1). Pure.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha224, Sha256, Sha384, Sha512};

/// Checks `header` (e.g. `sha256=d3d7…`) against the body. Comparison is constant-time.
pub fn verify(key: &[u8], body: &[u8], header: Option<&str>) -> Result<(), String> {
    let header = header.map(str::trim).filter(|h| !h.is_empty()).ok_or(
        "the event is not signed, and an HMAC key is configured: pass the X-Signature header with --signature \
         or GITOPS_CONNECTOR_SIGNATURE (or, on a relay hook whose trigger rule authenticates the request, \
         pass --verified-by-relay)",
    )?;
    let (algorithm, hex) = header
        .split_once('=')
        .ok_or_else(|| "the signature must look like sha256=<hex>".to_string())?;
    let expected = hex::decode(hex).map_err(|_| "the signature's digest is not hex".to_string())?;
    let ok = match algorithm.to_ascii_lowercase().as_str() {
        "sha224" => check::<Hmac<Sha224>>(key, body, &expected),
        "sha256" => check::<Hmac<Sha256>>(key, body, &expected),
        "sha384" => check::<Hmac<Sha384>>(key, body, &expected),
        "sha512" => check::<Hmac<Sha512>>(key, body, &expected),
        other => {
            return Err(format!(
                "signature algorithm {other:?} is not sha224, sha256, sha384 or sha512"
            ))
        }
    };
    if ok {
        Ok(())
    } else {
        Err(
            "the signature does not match the body: wrong key, or the body was changed on the way"
                .into(),
        )
    }
}

/// `hex(HMAC-SHA256(key, body))`: what the generic webhook's `X-Signature` carries.
pub fn sign_sha256(key: &[u8], body: &[u8]) -> String {
    // HMAC takes keys of any length: this never fails, and an empty signature would be refused.
    let Ok(mut mac) = <Hmac<Sha256> as hmac::digest::KeyInit>::new_from_slice(key) else {
        return String::new();
    };
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

fn check<M: Mac + hmac::digest::KeyInit>(key: &[u8], body: &[u8], expected: &[u8]) -> bool {
    let Ok(mut mac) = <M as hmac::digest::KeyInit>::new_from_slice(key) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(expected).is_ok()
}

/// SHA-256 of a body: the journal's key for identical bodies (stored as 32 bytes).
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Lower-case hex, to show a digest to people.
pub fn hex(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_signatures_match_rfc_4231() {
        assert_eq!(
            sign_sha256(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    fn fixture() -> Vec<u8> {
        let path = format!(
            "{}/tests/fixtures/flux/kustomization-reconciliation-succeeded-flux-v2.json",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read(path).unwrap()
    }

    #[test]
    fn the_protocol_test_vector_verifies() {
        let header = "sha256=d3d73ce06b36e251729df5ec325ee82682b135d6a2488c8f6055e11611c5df4f";
        assert_eq!(verify(b"s3cr3t-hmac-key", &fixture(), Some(header)), Ok(()));
        assert_eq!(
            verify(
                b"s3cr3t-hmac-key",
                &fixture(),
                Some(&header.to_uppercase().replace("SHA256", "sha256"))
            ),
            Ok(())
        );
    }

    #[test]
    fn wrong_missing_or_odd_signatures_are_refused() {
        let body = fixture();
        let wrong = "sha256=00d73ce06b36e251729df5ec325ee82682b135d6a2488c8f6055e11611c5df4f";
        assert!(verify(b"s3cr3t-hmac-key", &body, Some(wrong))
            .unwrap_err()
            .contains("does not match"));
        assert!(verify(b"s3cr3t-hmac-key", &body, None)
            .unwrap_err()
            .contains("not signed"));
        assert!(verify(b"k", &body, Some("md5=00"))
            .unwrap_err()
            .contains("md5"));
        for not_hex in [
            "sha256=zz",
            "sha256=+f",
            "sha256=f",
            "sha256= f0",
            "sha256=é0",
        ] {
            assert!(
                verify(b"k", &body, Some(not_hex))
                    .unwrap_err()
                    .contains("not hex"),
                "{not_hex}"
            );
        }
    }

    #[test]
    fn other_digest_lengths_are_accepted() {
        let mut mac = <Hmac<Sha512> as hmac::digest::KeyInit>::new_from_slice(b"k").unwrap();
        mac.update(b"body");
        let hex = hex::encode(mac.finalize().into_bytes());
        assert_eq!(
            verify(b"k", b"body", Some(&format!("sha512={hex}"))),
            Ok(())
        );
    }
}
