//! Identifiers that are parsed once at the edge and valid from then on.

use std::fmt;

/// Why a name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("is empty")]
    Empty,
    #[error("contains a control character")]
    ControlCharacter,
    #[error("is `ALL`, which is reserved for the report's summary rows")]
    Reserved,
    #[error("contains whitespace or a comma")]
    Separator,
    #[error("is {len} bytes long, over the limit of {limit} bytes")]
    TooLong { len: usize, limit: usize },
}

/// The longest service or repository name, or commit sha, in bytes of UTF-8. SPEC §2
/// gives no limit; this one is far above any real name (GitHub's `owner/name` is at
/// most 140, a Git sha 64) and keeps a hostile one out of every page, report and
/// index.
pub const NAME_MAX_BYTES: usize = 256;

/// The longest deployment, incident or build id. Longer than a name because the
/// adapters compose ids from the sender's names: ArgoCD's
/// `argocd:{namespace}/{app}@{started_at}` reaches some 350 bytes within Kubernetes'
/// own limits, and a GitLab pipeline's id carries its project path.
pub const ID_MAX_BYTES: usize = 1024;

fn check_text(raw: &str, limit: usize) -> Result<(), NameError> {
    if raw.trim().is_empty() {
        return Err(NameError::Empty);
    }
    if raw.len() > limit {
        return Err(NameError::TooLong {
            len: raw.len(),
            limit,
        });
    }
    if raw.chars().any(char::is_control) {
        return Err(NameError::ControlCharacter);
    }
    Ok(())
}

macro_rules! name_type {
    ($(#[$doc:meta])* $name:ident, $limit:expr, $check:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            /// Parses a name, refusing what SPEC §2 calls invalid.
            pub fn parse(raw: &str) -> Result<Self, NameError> {
                check_text(raw, $limit)?;
                let check: fn(&str) -> Result<(), NameError> = $check;
                check(raw)?;
                Ok(Self(raw.to_owned()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

name_type!(
    /// The unit that is deployed. `ALL` is refused: the weekly report uses it for the
    /// week's summary row, and a service of that name would be indistinguishable.
    ServiceName,
    NAME_MAX_BYTES,
    |raw| if raw == "ALL" { Err(NameError::Reserved) } else { Ok(()) }
);

name_type!(
    /// A repository, usually `owner/name`.
    RepoName,
    NAME_MAX_BYTES,
    |_| Ok(())
);

name_type!(
    /// A commit id. Kept as sent (not lower-cased): Git shas arrive lower-case from
    /// every source, and a generic sender's ids are theirs to choose. Whitespace and
    /// commas are refused so that a list of shas has one unambiguous text form.
    CommitSha,
    NAME_MAX_BYTES,
    |raw| {
        if raw.chars().any(|c| c.is_whitespace() || c == ',') {
            Err(NameError::Separator)
        } else {
            Ok(())
        }
    }
);

name_type!(
    /// A deployment, incident or build id, unique within its kind.
    EventId,
    ID_MAX_BYTES,
    |_| Ok(())
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_named_all_is_reserved() {
        assert_eq!(ServiceName::parse("ALL"), Err(NameError::Reserved));
        assert!(
            ServiceName::parse("all").is_ok(),
            "only the exact summary name is reserved"
        );
    }

    #[test]
    fn blank_and_control_characters_are_refused() {
        assert_eq!(ServiceName::parse("  "), Err(NameError::Empty));
        assert_eq!(
            RepoName::parse("a\u{1f}b"),
            Err(NameError::ControlCharacter)
        );
    }

    #[test]
    fn names_and_ids_are_refused_past_their_length_limit() {
        let at_limit = "s".repeat(NAME_MAX_BYTES);
        assert!(ServiceName::parse(&at_limit).is_ok());
        assert!(RepoName::parse(&at_limit).is_ok());
        assert!(CommitSha::parse(&at_limit).is_ok());
        let over = format!("{at_limit}s");
        let too_long = NameError::TooLong {
            len: NAME_MAX_BYTES + 1,
            limit: NAME_MAX_BYTES,
        };
        assert_eq!(ServiceName::parse(&over), Err(too_long.clone()));
        assert_eq!(RepoName::parse(&over), Err(too_long.clone()));
        assert_eq!(CommitSha::parse(&over), Err(too_long));
        assert_eq!(
            NameError::TooLong {
                len: 257,
                limit: 256
            }
            .to_string(),
            "is 257 bytes long, over the limit of 256 bytes"
        );
        assert!(EventId::parse(&"i".repeat(ID_MAX_BYTES)).is_ok());
        assert!(matches!(
            EventId::parse(&"i".repeat(ID_MAX_BYTES + 1)),
            Err(NameError::TooLong {
                limit: ID_MAX_BYTES,
                ..
            })
        ));
        // Bytes, not characters: 128 two-byte characters are at the limit.
        assert!(ServiceName::parse(&"é".repeat(NAME_MAX_BYTES / 2)).is_ok());
        assert!(ServiceName::parse(&"é".repeat(NAME_MAX_BYTES / 2 + 1)).is_err());
    }

    #[test]
    fn sha_with_comma_is_refused() {
        assert_eq!(CommitSha::parse("ab,cd"), Err(NameError::Separator));
        assert_eq!(CommitSha::parse("9f2c").unwrap().as_str(), "9f2c");
    }
}
