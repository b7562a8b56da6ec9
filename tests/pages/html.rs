//! Just enough HTML reading for the page tests: the fragment of an element found by
//! an attribute, attribute values, every link, text without tags. The pages are our
//! own markup, so string search is exact enough and needs no parser.
#![allow(dead_code)]

/// The fragment from the tag that carries `marker` (e.g. `data-metric="lead-time"`)
/// to the end of that element (matching `<tag` and `</tag>` pairs).
pub fn element<'a>(html: &'a str, marker: &str) -> Option<&'a str> {
    let at = html.find(marker)?;
    let start = html[..at].rfind('<')?;
    let tag: String = html[start + 1..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect();
    let (open, close) = (format!("<{tag}"), format!("</{tag}>"));
    let mut depth = 0usize;
    let mut i = start;
    while i < html.len() {
        if html[i..].starts_with(&close) {
            depth -= 1;
            if depth == 0 {
                return Some(&html[start..i + close.len()]);
            }
            i += close.len();
        } else if html[i..].starts_with(&open)
            && html[i + open.len()..]
                .chars()
                .next()
                .is_some_and(|c| c == ' ' || c == '>')
        {
            depth += 1;
            i += open.len();
        } else {
            i += html[i..].chars().next().map_or(1, char::len_utf8);
        }
    }
    None
}

/// Every element carrying `marker`.
pub fn elements<'a>(html: &'a str, marker: &str) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut rest = html;
    let mut offset = 0;
    while let Some(at) = rest.find(marker) {
        if let Some(e) = element(&html[offset..], marker) {
            out.push(e);
        }
        offset += at + marker.len();
        rest = &html[offset..];
    }
    out
}

/// The value of the first `name="…"` attribute in `fragment`, unescaped.
pub fn attr(fragment: &str, name: &str) -> Option<String> {
    let key = format!(" {name}=\"");
    let at = fragment.find(&key)? + key.len();
    let end = fragment[at..].find('"')?;
    Some(unescape(&fragment[at..at + end]))
}

/// Every `href` in `html`, unescaped.
pub fn links(html: &str) -> Vec<String> {
    html.match_indices(" href=\"")
        .filter_map(|(at, key)| {
            let start = at + key.len();
            let end = html[start..].find('"')?;
            Some(unescape(&html[start..start + end]))
        })
        .collect()
}

/// The text of `fragment` with its tags removed, entities unescaped, spaces folded.
pub fn text(fragment: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in fragment.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    unescape(&out)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let Some(end) = rest.find(';').filter(|e| *e <= 10) else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let entity = &rest[1..end];
        let decoded = match entity {
            "lt" => Some('<'),
            "gt" => Some('>'),
            "amp" => Some('&'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The table rows (`<tr>` … `</tr>`) of the table with `id`, header excluded.
pub fn rows<'a>(html: &'a str, id: &str) -> Vec<&'a str> {
    let Some(table) = element(html, &format!("id=\"{id}\"")) else {
        return Vec::new();
    };
    let body = table.find("<tbody>").map_or(table, |at| &table[at..]);
    body.match_indices("<tr")
        .filter_map(|(at, _)| {
            let end = body[at..].find("</tr>")?;
            Some(&body[at..at + end + 5])
        })
        .collect()
}
