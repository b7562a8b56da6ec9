//! Each sender's proof of origin, checked before a delivery is read or stored
//! (SPEC §6). Every comparison is constant-time.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// Why a delivery's proof of origin was refused; the route answers `401` with this.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The route has no secret configured, so nothing can be verified.
    #[error("this webhook is not configured: set {0}")]
    NotConfigured(&'static str),
    #[error("the {0} header is missing")]
    Missing(&'static str),
    #[error("the {0} header is malformed: {1}")]
    Malformed(&'static str, &'static str),
    #[error("the {0} does not match")]
    Mismatch(&'static str),
}

type HmacSha256 = Hmac<Sha256>;

fn hmac(secret: &[u8], body: &[u8]) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(body);
    mac
}

pub const GITHUB_HEADER: &str = "x-hub-signature-256";
pub const GITLAB_HEADER: &str = "x-gitlab-token";
pub const PAGERDUTY_HEADER: &str = "x-pagerduty-signature";
pub const CIRCLECI_HEADER: &str = "circleci-signature";
pub const BUILDKITE_SIGNATURE_HEADER: &str = "x-buildkite-signature";
pub const BUILDKITE_TOKEN_HEADER: &str = "x-buildkite-token";

/// GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>`.
pub fn verify_github(
    secret: &[u8],
    body: &[u8],
    header: Option<&str>,
) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing("X-Hub-Signature-256"))?;
    let hex_sig = header
        .trim()
        .strip_prefix("sha256=")
        .ok_or(SignatureError::Malformed(
            "X-Hub-Signature-256",
            "it must start with sha256=",
        ))?;
    let tag = hex::decode(hex_sig)
        .map_err(|_| SignatureError::Malformed("X-Hub-Signature-256", "not hexadecimal"))?;
    hmac(secret, body)
        .verify_slice(&tag)
        .map_err(|_| SignatureError::Mismatch("X-Hub-Signature-256 signature"))
}

/// PagerDuty webhooks v3: `X-PagerDuty-Signature: v1=<hex>,v1=<hex>` (one per
/// active signing secret); one match is enough.
pub fn verify_pagerduty(
    secret: &[u8],
    body: &[u8],
    header: Option<&str>,
) -> Result<(), SignatureError> {
    any_v1_matches(
        "X-PagerDuty-Signature",
        "X-PagerDuty-Signature signature",
        secret,
        body,
        header,
    )
}

/// CircleCI outbound webhooks: `circleci-signature: v1=<hex HMAC-SHA256 of the raw
/// body>`, a comma-separated list of `key=value` pairs of which only `v1` is a
/// signature today; any `v1` that matches is enough, other keys are ignored.
pub fn verify_circleci(
    secret: &[u8],
    body: &[u8],
    header: Option<&str>,
) -> Result<(), SignatureError> {
    any_v1_matches(
        "circleci-signature",
        "circleci-signature signature",
        secret,
        body,
        header,
    )
}

/// Buildkite webhooks set to sign: `X-Buildkite-Signature: timestamp=<unix
/// seconds>,signature=<hex HMAC-SHA256 of "<timestamp>.<raw body>">`. The timestamp
/// is part of what is signed, so it cannot be changed without the secret; how old it
/// may be is not checked here (a retried delivery is older and still genuine), and a
/// replayed one is stored once by its delivery id.
pub fn verify_buildkite(
    secret: &[u8],
    body: &[u8],
    header: Option<&str>,
) -> Result<(), SignatureError> {
    const NAME: &str = "X-Buildkite-Signature";
    let header = header.ok_or(SignatureError::Missing(NAME))?;
    let field = |key: &str| {
        header
            .split(',')
            .find_map(|part| part.trim().strip_prefix(key)?.strip_prefix('='))
            .map(str::trim)
    };
    let timestamp = field("timestamp").ok_or(SignatureError::Malformed(
        NAME,
        "it must carry timestamp=<unix seconds>",
    ))?;
    if timestamp.is_empty() || !timestamp.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SignatureError::Malformed(
            NAME,
            "its timestamp must be unix seconds",
        ));
    }
    let hex_sig = field("signature").ok_or(SignatureError::Malformed(
        NAME,
        "it must carry signature=<hex>",
    ))?;
    let tag =
        hex::decode(hex_sig).map_err(|_| SignatureError::Malformed(NAME, "not hexadecimal"))?;
    let mut mac = hmac(secret, timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.verify_slice(&tag)
        .map_err(|_| SignatureError::Mismatch("X-Buildkite-Signature signature"))
}

/// The check PagerDuty and CircleCI share: `name` carries comma-separated `key=value`
/// pairs, each `v1` a hex HMAC-SHA256 of the body (one per active secret); one match
/// is enough, other keys are ignored, and a header with no `v1` is malformed.
/// `signature` names the signature in the mismatch error (`the {signature} does not
/// match`).
fn any_v1_matches(
    name: &'static str,
    signature: &'static str,
    secret: &[u8],
    body: &[u8],
    header: Option<&str>,
) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing(name))?;
    let mac = hmac(secret, body);
    let mut any_v1 = false;
    for part in header.split(',') {
        let Some(hex_sig) = part.trim().strip_prefix("v1=") else {
            continue;
        };
        any_v1 = true;
        if let Ok(tag) = hex::decode(hex_sig.trim())
            && mac.clone().verify_slice(&tag).is_ok()
        {
            return Ok(());
        }
    }
    if any_v1 {
        Err(SignatureError::Mismatch(signature))
    } else {
        Err(SignatureError::Malformed(
            name,
            "it carries no v1= signature",
        ))
    }
}

/// Whether a presented token is the expected one (SPEC §5): compared in constant time
/// after trimming surrounding whitespace on both sides, since a secret mounted from a
/// file often ends in a newline. The one comparison of every token Shiplog checks.
pub fn token_matches(expected: &[u8], presented: &[u8]) -> bool {
    let expected = expected.trim_ascii();
    !expected.is_empty() && bool::from(presented.trim_ascii().ct_eq(expected))
}

/// A shared token sent as is (GitLab's `X-Gitlab-Token`).
pub fn verify_token(
    expected: &[u8],
    presented: Option<&str>,
    header: &'static str,
) -> Result<(), SignatureError> {
    let presented = presented.ok_or(SignatureError::Missing(header))?;
    if token_matches(expected, presented.as_bytes()) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch("token"))
    }
}

/// The hex HMAC-SHA256 of `body`, as GitHub, PagerDuty and CircleCI sign it: for tests and for
/// `shiplog notify`-style senders.
pub fn sign_hex(secret: &[u8], body: &[u8]) -> String {
    hex::encode(hmac(secret, body).finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// GitHub's published test vector ("Validating webhook deliveries").
    const GITHUB_SECRET: &[u8] = b"It's a Secret to Everybody";
    const GITHUB_BODY: &[u8] = b"Hello, World!";
    const GITHUB_SIGNATURE: &str =
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

    #[test]
    fn github_published_vector() {
        assert_eq!(
            verify_github(GITHUB_SECRET, GITHUB_BODY, Some(GITHUB_SIGNATURE)),
            Ok(())
        );
        assert_eq!(
            format!("sha256={}", sign_hex(GITHUB_SECRET, GITHUB_BODY)),
            GITHUB_SIGNATURE
        );
    }

    #[test]
    fn github_refusals() {
        assert_eq!(
            verify_github(b"wrong secret", GITHUB_BODY, Some(GITHUB_SIGNATURE)),
            Err(SignatureError::Mismatch("X-Hub-Signature-256 signature"))
        );
        assert_eq!(
            verify_github(GITHUB_SECRET, b"Hello, World?", Some(GITHUB_SIGNATURE)),
            Err(SignatureError::Mismatch("X-Hub-Signature-256 signature")),
            "a tampered body fails"
        );
        assert_eq!(
            verify_github(GITHUB_SECRET, GITHUB_BODY, None),
            Err(SignatureError::Missing("X-Hub-Signature-256"))
        );
        assert!(matches!(
            verify_github(GITHUB_SECRET, GITHUB_BODY, Some(&GITHUB_SIGNATURE[7..])),
            Err(SignatureError::Malformed(..))
        ));
        assert!(matches!(
            verify_github(GITHUB_SECRET, GITHUB_BODY, Some("sha256=zz")),
            Err(SignatureError::Malformed(..))
        ));
    }

    #[test]
    fn pagerduty_takes_any_of_several_signatures() {
        let body = br#"{"event":{"id":"01DEN4XJ7EJ6SNYLY3ZZLUFN8L"}}"#;
        let good = sign_hex(b"current", body);
        let old = sign_hex(b"rotated-out", body);
        let header = format!("v1={old},v1={good}");
        assert_eq!(verify_pagerduty(b"current", body, Some(&header)), Ok(()));
        assert_eq!(
            verify_pagerduty(b"rotated-out", body, Some(&header)),
            Ok(())
        );
        assert_eq!(
            verify_pagerduty(b"other", body, Some(&header)),
            Err(SignatureError::Mismatch("X-PagerDuty-Signature signature"))
        );
        assert_eq!(
            verify_pagerduty(b"current", b"{}", Some(&header)),
            Err(SignatureError::Mismatch("X-PagerDuty-Signature signature")),
            "a tampered body fails"
        );
        assert!(matches!(
            verify_pagerduty(b"current", body, Some(&good)),
            Err(SignatureError::Malformed(..))
        ));
        assert_eq!(
            verify_pagerduty(b"current", body, None),
            Err(SignatureError::Missing("X-PagerDuty-Signature"))
        );
    }

    #[test]
    fn buildkite_signs_the_timestamp_and_the_body() {
        let body = br#"{"event":"build.finished"}"#;
        let sign = |secret: &[u8], timestamp: &str| {
            let mut mac = hmac(secret, timestamp.as_bytes());
            mac.update(b".");
            mac.update(body);
            hex::encode(mac.finalize().into_bytes())
        };
        let good = sign(b"kite-secret", "1619071700");
        let header = format!("timestamp=1619071700,signature={good}");
        assert_eq!(
            verify_buildkite(b"kite-secret", body, Some(&header)),
            Ok(())
        );
        let mismatch = Err(SignatureError::Mismatch("X-Buildkite-Signature signature"));
        assert_eq!(verify_buildkite(b"wrong", body, Some(&header)), mismatch);
        assert_eq!(
            verify_buildkite(b"kite-secret", b"{}", Some(&header)),
            mismatch
        );
        let moved = format!("timestamp=1619071701,signature={good}");
        assert_eq!(
            verify_buildkite(b"kite-secret", body, Some(&moved)),
            mismatch
        );
        assert!(matches!(
            verify_buildkite(b"kite-secret", body, Some(&format!("signature={good}"))),
            Err(SignatureError::Malformed(_, _))
        ));
        assert!(matches!(
            verify_buildkite(b"kite-secret", body, Some("timestamp=1619071700")),
            Err(SignatureError::Malformed(_, _))
        ));
        assert_eq!(
            verify_buildkite(b"kite-secret", body, None),
            Err(SignatureError::Missing("X-Buildkite-Signature"))
        );
    }

    #[test]
    fn circleci_takes_any_v1_among_its_pairs() {
        let body = br#"{"id":"3888f21b-eaa7-38e3-8f3d-75a63bba8895","type":"workflow-completed"}"#;
        let good = sign_hex(b"circle-secret", body);
        assert_eq!(
            verify_circleci(b"circle-secret", body, Some(&format!("v1={good}"))),
            Ok(())
        );
        // Several pairs, unknown keys among them: any matching v1 is enough.
        let other = sign_hex(b"old-secret", body);
        let header = format!("v2=abcd, v1={other}, v1={good}");
        assert_eq!(
            verify_circleci(b"circle-secret", body, Some(&header)),
            Ok(())
        );
        assert_eq!(
            verify_circleci(b"wrong secret", body, Some(&header)),
            Err(SignatureError::Mismatch("circleci-signature signature"))
        );
        assert_eq!(
            verify_circleci(b"circle-secret", b"{}", Some(&header)),
            Err(SignatureError::Mismatch("circleci-signature signature")),
            "a tampered body fails"
        );
        assert_eq!(
            verify_circleci(b"circle-secret", body, Some("v1=zz")),
            Err(SignatureError::Mismatch("circleci-signature signature"))
        );
        assert!(matches!(
            verify_circleci(b"circle-secret", body, Some(&good)),
            Err(SignatureError::Malformed(..))
        ));
        assert!(matches!(
            verify_circleci(b"circle-secret", body, Some(&format!("sha256={good}"))),
            Err(SignatureError::Malformed(..))
        ));
        assert_eq!(
            verify_circleci(b"circle-secret", body, None),
            Err(SignatureError::Missing("circleci-signature"))
        );
    }

    #[test]
    fn tokens() {
        assert_eq!(
            verify_token(b"s3cret", Some("s3cret"), "X-Gitlab-Token"),
            Ok(())
        );
        assert_eq!(
            verify_token(b"s3cret", Some("s3cre"), "X-Gitlab-Token"),
            Err(SignatureError::Mismatch("token"))
        );
        assert_eq!(
            verify_token(b"s3cret", None, "X-Gitlab-Token"),
            Err(SignatureError::Missing("X-Gitlab-Token"))
        );
        // A secret mounted from a file ends in a newline; a header may carry spaces.
        assert_eq!(
            verify_token(b"s3cret\n", Some(" s3cret"), "X-Gitlab-Token"),
            Ok(())
        );
        assert_eq!(
            verify_token(b"s3cret\n", Some("s3cret x"), "X-Gitlab-Token"),
            Err(SignatureError::Mismatch("token"))
        );
        // A blank configured token matches nothing, not a blank header.
        assert!(!token_matches(b" \n", b""));
    }
}
