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
}

fn check_text(raw: &str) -> Result<(), NameError> {
    if raw.trim().is_empty() {
        return Err(NameError::Empty);
    }
    if raw.chars().any(char::is_control) {
        return Err(NameError::ControlCharacter);
    }
    Ok(())
}

macro_rules! name_type {
    ($(#[$doc:meta])* $name:ident, $check:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            /// Parses a name, refusing what SPEC §2 calls invalid.
            pub fn parse(raw: &str) -> Result<Self, NameError> {
                check_text(raw)?;
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
    |raw| if raw == "ALL" { Err(NameError::Reserved) } else { Ok(()) }
);

name_type!(
    /// A repository, usually `owner/name`.
    RepoName,
    |_| Ok(())
);

name_type!(
    /// A commit id. Kept as sent (not lower-cased): Git shas arrive lower-case from
    /// every source, and a generic sender's ids are theirs to choose. Whitespace and
    /// commas are refused so that a list of shas has one unambiguous text form.
    CommitSha,
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
    fn sha_with_comma_is_refused() {
        assert_eq!(CommitSha::parse("ab,cd"), Err(NameError::Separator));
        assert_eq!(CommitSha::parse("9f2c").unwrap().as_str(), "9f2c");
    }
}
