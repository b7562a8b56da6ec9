//! CSV cells as every Shiplog CSV writes them: RFC 4180 quoting only where needed,
//! and a leading `'` on text a spreadsheet would read as a formula (SPEC §5).

/// A text cell that a spreadsheet would read as a formula gets a leading `'`.
pub(crate) fn guard(text: &str) -> String {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}"),
        _ => text.to_owned(),
    }
}

/// RFC 4180 quoting, only where needed.
pub(crate) fn quote(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_starts_are_guarded_and_commas_quoted() {
        assert_eq!(
            guard("=HYPERLINK(\"http://x\")"),
            "'=HYPERLINK(\"http://x\")"
        );
        assert_eq!(guard("-1"), "'-1");
        assert_eq!(guard("checkout"), "checkout");
        assert_eq!(
            quote(&guard("=HYPERLINK(\"http://x\")")),
            "\"'=HYPERLINK(\"\"http://x\"\")\""
        );
        assert_eq!(quote("a,b"), "\"a,b\"");
    }
}
