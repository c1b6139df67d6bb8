//! The one tokenizer: used by ingest to build the index and by the compiler to
//! turn query terms into index lookups, so the two can never drift apart.
//!
//! Contract (documented with examples in `docs/language.md`):
//!
//! 1. A *run* is a maximal sequence of run characters: word characters
//!    (Unicode alphanumerics, `_`, combining marks) and the joiners `.` `-`
//!    `:` `@`. Everything else separates runs.
//! 2. A run that is an IPv6 address (after trimming `.`/`-`/`@` at its ends)
//!    becomes one token in its canonical RFC 5952 form (`2001:DB8:0::1` →
//!    `2001:db8::1`).
//! 3. Otherwise the run is split on `:` (ARN components, `key:value`, clock
//!    times). In each part, an `@` between word characters with exactly one
//!    `@` in the part keeps an email whole; any other `@` splits.
//! 4. `.` and `-` join only between two word characters, so `10.0.0.1`,
//!    `www.example.com`, `us-east-1` and `3.14` stay whole while a sentence's
//!    final `.` or a leading `-` is dropped.
//! 5. Every token is lowercased (full Unicode lowercase) and cut to at most
//!    [`MAX_TOKEN_BYTES`] bytes on a character boundary.
//!
//! Matching is on whole tokens, so `10.0.0.1` never matches `110.0.0.119` or
//! `10.0.0.11`.

use std::net::Ipv6Addr;

/// Longest token kept, in UTF-8 bytes. Longer tokens (base64 blobs, JWTs)
/// are cut here on both the ingest and the query side, so matching stays
/// consistent; Lucene's standard tokenizer uses a similar cap (255).
pub const MAX_TOKEN_BYTES: usize = 256;

/// Splits `text` into lowercase tokens, in order.
pub fn tokenize(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for_each_token(text, &mut String::new(), &mut |t| out.push(t.to_string()));
    out
}

/// Like [`tokenize`], but lends each token to `emit` instead of collecting
/// it: the token lives in `scratch`, which the caller keeps across calls,
/// so tokenizing allocates nothing per token (ingest calls this for every
/// value it indexes; a `String` per token was a tenth of its profile).
pub fn for_each_token(text: &str, scratch: &mut String, emit: &mut dyn FnMut(&str)) {
    runs(text, scratch, &mut |_, token| emit(token));
}

/// The tokens of `text` with the byte range each was read from, in order:
/// what a display needs to mark exactly the words a search matched (the
/// token may differ from its source text by case, IPv6 canonical form, or
/// the length cap).
pub fn token_spans(text: &str) -> Vec<(std::ops::Range<usize>, String)> {
    let base = text.as_ptr() as usize;
    let mut out = Vec::new();
    runs(text, &mut String::new(), &mut |source, token| {
        // Every source is a slice of `text`: its offset is the distance
        // between the two starts.
        let start = source.as_ptr() as usize - base;
        out.push((start..start + source.len(), token.to_string()));
    });
    out
}

/// Receives a token's source (a slice of the input) and the token.
type Emit<'e, 'a> = &'e mut dyn FnMut(&'a str, &str);

fn runs<'a>(text: &'a str, scratch: &mut String, emit: Emit<'_, 'a>) {
    let mut start: Option<usize> = None;
    for (i, c) in text.char_indices() {
        if is_run_char(c) {
            start.get_or_insert(i);
        } else if let Some(s) = start.take() {
            split_run(&text[s..i], scratch, emit);
        }
    }
    if let Some(s) = start {
        split_run(&text[s..], scratch, emit);
    }
}

/// True for characters that can be part of a token.
pub fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || is_combining_mark(c)
}

fn is_joiner(c: char) -> bool {
    matches!(c, '.' | '-' | ':' | '@')
}

/// True for characters a token can be read from: word characters and the
/// joiners. Any other character ends a run, and no token spans it.
pub fn is_run_char(c: char) -> bool {
    is_word_char(c) || is_joiner(c)
}

/// Common combining-mark blocks, so decomposed accents (`e` + U+0301) do not
/// split a word. std has no general-category lookup; these blocks cover the
/// marks seen in practice.
fn is_combining_mark(c: char) -> bool {
    matches!(c,
        '\u{0300}'..='\u{036F}'
        | '\u{1AB0}'..='\u{1AFF}'
        | '\u{1DC0}'..='\u{1DFF}'
        | '\u{20D0}'..='\u{20FF}'
        | '\u{FE20}'..='\u{FE2F}')
}

fn split_run<'a>(run: &'a str, scratch: &mut String, emit: Emit<'_, 'a>) {
    let trimmed = run.trim_matches(|c| matches!(c, '.' | '-' | '@'));
    if trimmed.contains(':')
        && let Ok(addr) = trimmed.parse::<Ipv6Addr>()
    {
        emit(trimmed, &addr.to_string());
        return;
    }
    for part in trimmed.split(':') {
        split_part(part, scratch, emit);
    }
}

/// A part has no `:`. Keeps `local@domain` whole when the part holds exactly
/// one `@` between word characters; otherwise `@` separates.
fn split_part<'a>(part: &'a str, scratch: &mut String, emit: Emit<'_, 'a>) {
    let part = part.trim_matches(|c| matches!(c, '.' | '-' | '@'));
    if part.is_empty() {
        return;
    }
    let ats = part.matches('@').count();
    if ats == 1 {
        let (local, domain) = part.split_once('@').expect("one @");
        let ends_ok = local.chars().next_back().is_some_and(is_word_char)
            && domain.chars().next().is_some_and(is_word_char);
        if ends_ok {
            let mut local_words = Vec::new();
            join_words(local, &mut |w| local_words.push(w));
            let mut domain_words = Vec::new();
            join_words(domain, &mut |w| domain_words.push(w));
            // Whole only if each side is itself one joined word.
            if let ([l], [d]) = (local_words.as_slice(), domain_words.as_slice()) {
                let from = l.as_ptr() as usize - part.as_ptr() as usize;
                let to = d.as_ptr() as usize - part.as_ptr() as usize + d.len();
                emit(&part[from..to], finish(&format!("{l}@{d}"), scratch));
                return;
            }
            for w in local_words.into_iter().chain(domain_words) {
                emit(w, finish(w, scratch));
            }
            return;
        }
    }
    for piece in part.split('@') {
        join_words(piece, &mut |w| emit(w, finish(w, scratch)));
    }
}

/// Splits a piece (no `:` or `@`) into words: `.` and `-` stay only between
/// two word characters.
fn join_words<'a>(piece: &'a str, emit: &mut dyn FnMut(&'a str)) {
    // One pass, no buffer: this runs for every value ingest indexes.
    let mut chars = piece.char_indices().peekable();
    let mut start: Option<usize> = None;
    let mut prev_word = false;
    while let Some((at, c)) = chars.next() {
        if is_word_char(c) {
            start.get_or_insert(at);
            prev_word = true;
            continue;
        }
        let next_word = chars.peek().is_some_and(|&(_, n)| is_word_char(n));
        let inside = prev_word && next_word;
        prev_word = false;
        if inside {
            continue; // a joiner inside a word
        }
        if let Some(s) = start.take() {
            emit(&piece[s..at]);
        }
    }
    if let Some(s) = start {
        emit(&piece[s..]);
    }
}

/// The token of a word: lowercased and cut, written into `scratch`.
fn finish<'s>(token: &str, scratch: &'s mut String) -> &'s str {
    scratch.clear();
    if token.is_ascii() {
        scratch.extend(token.bytes().map(|b| char::from(b.to_ascii_lowercase())));
    } else {
        // Full Unicode lowercasing: one character can become several, and
        // `Σ` depends on its neighbours, which `char::to_lowercase` misses.
        scratch.push_str(&token.to_lowercase());
    }
    if scratch.len() > MAX_TOKEN_BYTES {
        let mut cut = MAX_TOKEN_BYTES;
        while !scratch.is_char_boundary(cut) {
            cut -= 1;
        }
        scratch.truncate(cut);
    }
    scratch
}

/// Lowercases a wildcard prefix the way tokens are lowercased, and tells
/// whether it can be the start of a single token (no separator inside).
pub fn normalize_prefix(prefix: &str) -> Option<String> {
    if prefix.is_empty() || !prefix.chars().all(is_run_char) {
        return None;
    }
    if !prefix.chars().next().is_some_and(is_word_char) {
        return None;
    }
    // `:` survives only inside an IPv6 address, `@` only once (an email).
    let ipv6_like = prefix
        .chars()
        .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.');
    if (prefix.contains(':') && !ipv6_like) || prefix.matches('@').count() > 1 {
        return None;
    }
    Some(finish(prefix, &mut String::new()).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One row per case: input, expected tokens.
    const CASES: &[(&str, &[&str])] = &[
        ("", &[]),
        ("   \t\n", &[]),
        ("ConsoleLogin", &["consolelogin"]),
        (
            "Failed password for root",
            &["failed", "password", "for", "root"],
        ),
        // IPv4 stays whole; no prefix or suffix confusion.
        ("10.0.0.1", &["10.0.0.1"]),
        ("from 10.0.0.1.", &["from", "10.0.0.1"]),
        ("110.0.0.119", &["110.0.0.119"]),
        ("10.0.0.11", &["10.0.0.11"]),
        (
            "src=10.0.0.1,dst=10.0.0.2",
            &["src", "10.0.0.1", "dst", "10.0.0.2"],
        ),
        ("10.0.0.1:443", &["10.0.0.1", "443"]),
        ("(10.0.0.1)", &["10.0.0.1"]),
        // IPv6, canonicalised.
        ("fe80::1", &["fe80::1"]),
        ("FE80::0:1", &["fe80::1"]),
        ("2001:db8:0:0:0:0:0:1", &["2001:db8::1"]),
        ("[2001:db8::1]:8080", &["2001:db8::1", "8080"]),
        ("::1", &["::1"]),
        ("::ffff:10.0.0.1", &["::ffff:10.0.0.1"]),
        ("fe80::1%eth0", &["fe80::1", "eth0"]),
        // Hostnames and AWS service names.
        ("www.Example.COM", &["www.example.com"]),
        ("ec2.amazonaws.com", &["ec2.amazonaws.com"]),
        ("ip-10-0-0-1.ec2.internal", &["ip-10-0-0-1.ec2.internal"]),
        ("us-east-1", &["us-east-1"]),
        // ARNs split into components.
        (
            "arn:aws:iam::123456789012:user/alice",
            &["arn", "aws", "iam", "123456789012", "user", "alice"],
        ),
        (
            "arn:aws:s3:::my-bucket/key.txt",
            &["arn", "aws", "s3", "my-bucket", "key.txt"],
        ),
        // Emails stay whole.
        ("Alice@Example.com", &["alice@example.com"]),
        ("mailto:bob@example.org.", &["mailto", "bob@example.org"]),
        ("a@b@c", &["a", "b", "c"]),
        ("@alice", &["alice"]),
        ("user@", &["user"]),
        // Numbers.
        ("3.14", &["3.14"]),
        ("-42", &["42"]),
        ("1,000", &["1", "000"]),
        ("1e10", &["1e10"]),
        // Clock times and key:value.
        ("10:00:01", &["10", "00", "01"]),
        ("eventName:ConsoleLogin", &["eventname", "consolelogin"]),
        // Paths and URLs.
        ("/var/log/syslog", &["var", "log", "syslog"]),
        (
            "https://a.example/b?c=d",
            &["https", "a.example", "b", "c", "d"],
        ),
        ("C:\\Windows\\System32", &["c", "windows", "system32"]),
        // Joiners need a word character on both sides.
        ("a..b", &["a", "b"]),
        ("a.-b", &["a", "b"]),
        ("--flag", &["flag"]),
        ("snake_case_name", &["snake_case_name"]),
        // Quotes and SQL-ish punctuation separate.
        ("it's", &["it", "s"]),
        ("'; DROP TABLE x; --", &["drop", "table", "x"]),
        // Unicode: letters of any script, full lowercase, combining marks.
        ("Größe", &["größe"]),
        ("ÉCOLE", &["école"]),
        ("caf\u{0065}\u{0301}", &["cafe\u{0301}"]),
        ("İstanbul", &["i\u{0307}stanbul"]),
        ("東京 タワー", &["東京", "タワー"]),
        ("emoji🔥fire", &["emoji", "fire"]),
    ];

    #[test]
    fn token_table() {
        for (input, expected) in CASES {
            assert_eq!(&tokenize(input), expected, "input: {input:?}");
        }
    }

    #[test]
    fn spans_point_at_the_text_each_token_was_read_from() {
        for (input, expected) in CASES {
            let spans = token_spans(input);
            let tokens: Vec<&str> = spans.iter().map(|(_, t)| t.as_str()).collect();
            assert_eq!(&tokens, expected, "input: {input:?}");
            let mut end = 0;
            for (range, token) in &spans {
                assert!(range.start >= end, "in order, not overlapping: {input:?}");
                end = range.end;
                // The source reads as the token again (same case-folding;
                // IPv6 text canonicalises to it).
                assert_eq!(
                    tokenize(&input[range.clone()]),
                    vec![token.clone()],
                    "{input:?} {range:?}"
                );
            }
        }
        let text = "User Alice@Example.com from 2001:DB8:0::1, 10.0.0.1.";
        let shown: Vec<&str> = token_spans(text)
            .into_iter()
            .map(|(r, _)| &text[r])
            .collect();
        assert_eq!(
            shown,
            [
                "User",
                "Alice@Example.com",
                "from",
                "2001:DB8:0::1",
                "10.0.0.1"
            ]
        );
    }

    #[test]
    fn word_boundaries_never_match_longer_addresses() {
        let query = tokenize("10.0.0.1");
        for text in ["110.0.0.119", "10.0.0.11", "10.0.0.1.5", "210.0.0.1"] {
            let tokens = tokenize(text);
            assert!(
                !tokens.iter().any(|t| query.contains(t)),
                "{text:?} -> {tokens:?}"
            );
        }
    }

    #[test]
    fn long_tokens_are_cut_on_a_char_boundary() {
        let long = "é".repeat(200); // 400 bytes
        let tokens = tokenize(&long);
        assert_eq!(tokens.len(), 1);
        assert!(tokens[0].len() <= MAX_TOKEN_BYTES);
        assert_eq!(tokens[0], "é".repeat(128));
    }

    #[test]
    fn tokenizing_is_idempotent_on_tokens() {
        for (input, _) in CASES {
            for token in tokenize(input) {
                assert_eq!(tokenize(&token), vec![token.clone()], "from {input:?}");
            }
        }
    }

    #[test]
    fn prefixes() {
        assert_eq!(normalize_prefix("Describe").as_deref(), Some("describe"));
        assert_eq!(normalize_prefix("10.0.").as_deref(), Some("10.0."));
        assert_eq!(normalize_prefix("a/b"), None);
        assert_eq!(normalize_prefix(""), None);
        assert_eq!(normalize_prefix(".x"), None);
        assert_eq!(normalize_prefix("fe80:").as_deref(), Some("fe80:"));
        assert_eq!(normalize_prefix("arn:aws"), None);
        assert_eq!(normalize_prefix("alice@ex").as_deref(), Some("alice@ex"));
        assert_eq!(normalize_prefix("a@b@"), None);
    }
}
