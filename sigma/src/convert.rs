//! A rule's YAML → [`Rule`]: its metadata, and its detection as a glaux
//! query, built as the compiler's own AST ([`glaux_compiler::ast::Expr`])
//! and printed by its canonical printer, so every value reaches the query
//! through the one printer that escapes glaux syntax (and from there
//! reaches SQL through the one SQL escaper).
//!
//! What each Sigma construct becomes (docs/sigma.md has the table):
//! a plain value is the field's whole value (`field:="v"`), a wildcard
//! value a whole-value pattern, `contains`/`startswith`/`endswith` add
//! `*`, `null` is the field's absence, `exists` its presence, `cidr` a
//! CIDR block, `gt`… a range; lists are `OR` (`all`: `AND`), maps `AND`.

use std::ops::Range;

use glaux_compiler::ast::{self, Bound, Expr, Field, Match, Span, Value, ValueKind, WildPart};
use glaux_compiler::values::Cidr;

use crate::condition::{self, Cond};
use crate::error::SigmaError;
use crate::value;
use crate::yaml::{Kind, Node};

/// A rule, ready to run.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub title: String,
    pub id: Option<String>,
    pub level: Option<String>,
    pub status: Option<String>,
    pub tags: Vec<String>,
    /// The log type its `logsource` maps to (`tag:cloudtrail`), when glaux
    /// can tell.
    pub tag: Option<String>,
    /// The detection, as glaux query text.
    pub query: String,
}

impl Rule {
    /// The rule's MITRE ATT&CK tags (`attack.t1562.008`, `attack.defense-evasion`).
    pub fn attack_tags(&self) -> impl Iterator<Item = &str> {
        self.tags
            .iter()
            .map(String::as_str)
            .filter(|t| t.starts_with("attack."))
    }
}

/// The log types glaux stores that a rule's `logsource` names:
/// (product, service) → tag.
pub const LOGSOURCE_TAGS: [(&str, &str, &str); 1] = [("aws", "cloudtrail", "cloudtrail")];

fn rule_error(message: impl Into<String>) -> SigmaError {
    SigmaError::new("glaux::sigma_rule", message)
}

/// Reads one rule document.
pub fn rule(doc: &Node) -> Result<Rule, SigmaError> {
    if !matches!(doc.kind, Kind::Map(_)) {
        return Err(rule_error("a rule is a YAML map")
            .at(doc.span.clone(), format!("{} here", doc.what()))
            .help("a Sigma rule has `title`, `logsource` and `detection` at its top level"));
    }
    if let Some(c) = doc.get("correlation") {
        return Err(SigmaError::new(
            "glaux::sigma_unsupported",
            "correlation rules are not supported yet",
        )
        .at(c.span.clone(), "a correlation")
        .help("run the rules it correlates on their own"));
    }
    let text = |key: &str| -> Result<Option<String>, SigmaError> {
        match doc.get(key) {
            None
            | Some(Node {
                kind: Kind::Null, ..
            }) => Ok(None),
            Some(Node {
                kind: Kind::Str(s), ..
            }) => Ok(Some(s.clone())),
            Some(Node {
                kind: Kind::Number(n),
                ..
            }) => Ok(Some(n.clone())),
            Some(n) => Err(rule_error(format!("`{key}` must be a string"))
                .at(n.span.clone(), format!("{} here", n.what()))),
        }
    };
    let title = text("title")?.ok_or_else(|| {
        rule_error("the rule has no `title`")
            .at(doc.span.start..doc.span.start, "at the top level")
            .help("every Sigma rule needs `title`, `logsource` and `detection`")
    })?;
    let tags = match doc.get("tags") {
        None => Vec::new(),
        Some(Node {
            kind: Kind::List(items),
            ..
        }) => items
            .iter()
            .map(|t| {
                t.as_str().map(str::to_string).ok_or_else(|| {
                    rule_error("a tag must be a string")
                        .at(t.span.clone(), format!("{} here", t.what()))
                })
            })
            .collect::<Result<_, _>>()?,
        Some(n) => {
            return Err(rule_error("`tags` must be a list")
                .at(n.span.clone(), format!("{} here", n.what())));
        }
    };
    let logsource = doc.get("logsource").ok_or_else(|| {
        rule_error("the rule has no `logsource`")
            .at(doc.span.start..doc.span.start, "at the top level")
            .help("add `logsource:` with `product` and `service`, e.g. `product: aws`, `service: cloudtrail`")
    })?;
    let field_of = |key: &str| {
        logsource
            .get(key)
            .and_then(Node::as_str)
            .map(str::to_ascii_lowercase)
    };
    let (product, service) = (field_of("product"), field_of("service"));
    let tag = LOGSOURCE_TAGS
        .iter()
        .find(|(p, s, _)| product.as_deref() == Some(*p) && service.as_deref() == Some(*s))
        .map(|(_, _, t)| t.to_string());
    let detection = doc.get("detection").ok_or_else(|| {
        rule_error("the rule has no `detection`")
            .at(doc.span.start..doc.span.start, "at the top level")
            .help("add `detection:` with named selections and a `condition`")
    })?;
    let expr = detection_expr(detection)?;
    let expr = match &tag {
        Some(t) => Expr::And {
            clauses: vec![
                matched(Some(ast::TAG_FIELD), ValueKind::Term(t.clone())),
                expr,
            ],
            span: Span::default(),
        },
        None => expr,
    };
    Ok(Rule {
        title,
        id: text("id")?,
        level: text("level")?,
        status: text("status")?,
        tags,
        tag,
        query: expr.to_string(),
    })
}

fn matched(field: Option<&str>, kind: ValueKind) -> Expr {
    Expr::Match(Match {
        field: field.map(|name| Field {
            name: name.to_string(),
            span: Span::default(),
        }),
        value: Value {
            kind,
            span: Span::default(),
        },
        span: Span::default(),
    })
}

fn any(mut clauses: Vec<Expr>) -> Expr {
    if clauses.len() == 1 {
        return clauses.pop().expect("one");
    }
    Expr::Or {
        clauses,
        span: Span::default(),
    }
}

fn all(mut clauses: Vec<Expr>) -> Expr {
    if clauses.len() == 1 {
        return clauses.pop().expect("one");
    }
    Expr::And {
        clauses,
        span: Span::default(),
    }
}

fn not(e: Expr) -> Expr {
    Expr::Not {
        expr: Box::new(e),
        span: Span::default(),
    }
}

/// The detection map: named selections and the `condition`.
fn detection_expr(detection: &Node) -> Result<Expr, SigmaError> {
    let Kind::Map(entries) = &detection.kind else {
        return Err(rule_error("`detection` must be a map")
            .at(detection.span.clone(), format!("{} here", detection.what())));
    };
    let mut selections: Vec<(&str, Expr)> = Vec::new();
    let mut condition = None;
    for (key, node) in entries {
        let Some(name) = key.as_str() else {
            return Err(rule_error("a selection's name must be a string")
                .at(key.span.clone(), format!("{} here", key.what())));
        };
        match name {
            "condition" => condition = Some(node),
            "timeframe" => {
                return Err(SigmaError::new(
                    "glaux::sigma_unsupported",
                    "`timeframe` (with a `| count()` condition) is not supported yet",
                )
                .at(key.span.clone(), "here")
                .help("Sigma 2 replaced it with correlation rules"));
            }
            _ => selections.push((name, selection(node)?)),
        }
    }
    let condition = condition.ok_or_else(|| {
        rule_error("the detection has no `condition`")
            .at(detection.span.start..detection.span.start, "in this map")
            .help("add `condition: selection` (the name of a selection above)")
    })?;
    let texts: Vec<(&str, Range<usize>)> = match &condition.kind {
        Kind::Str(s) => vec![(s.as_str(), condition.span.clone())],
        Kind::List(items) => items
            .iter()
            .map(|i| {
                i.as_str().map(|s| (s, i.span.clone())).ok_or_else(|| {
                    rule_error("a condition is a string")
                        .at(i.span.clone(), format!("{} here", i.what()))
                })
            })
            .collect::<Result<_, _>>()?,
        _ => {
            return Err(rule_error("a condition is a string")
                .at(condition.span.clone(), format!("{} here", condition.what())));
        }
    };
    let mut out = Vec::new();
    for (text, span) in texts {
        // The condition's own offsets, moved into the file: past a quote
        // when the scalar was written quoted.
        let base = span.start + usize::from(span.len() > text.len());
        let cond = condition::parse(text).map_err(|e| shift(e, base))?;
        out.push(resolve(&cond, &selections).map_err(|e| shift(e, base))?);
    }
    Ok(any(out))
}

fn shift(mut e: SigmaError, by: usize) -> SigmaError {
    e.span = e.span.map(|s| s.start + by..s.end + by);
    e
}

fn resolve(cond: &Cond, selections: &[(&str, Expr)]) -> Result<Expr, SigmaError> {
    Ok(match cond {
        Cond::Ref(name, span) => match selections.iter().find(|(n, _)| n == name) {
            Some((_, e)) => e.clone(),
            None => {
                let known: Vec<&str> = selections.iter().map(|(n, _)| *n).collect();
                return Err(SigmaError::new(
                    "glaux::sigma_condition",
                    format!("the condition names `{name}`, which the detection does not define"),
                )
                .at(span.clone(), "undefined")
                .help(format!("the selections are: {}", known.join(", "))));
            }
        },
        Cond::And(xs) => all(xs
            .iter()
            .map(|x| resolve(x, selections))
            .collect::<Result<_, _>>()?),
        Cond::Or(xs) => any(xs
            .iter()
            .map(|x| resolve(x, selections))
            .collect::<Result<_, _>>()?),
        Cond::Not(x) => not(resolve(x, selections)?),
        Cond::Of {
            all: every,
            pattern,
            span,
        } => {
            let picked: Vec<Expr> = selections
                .iter()
                .filter(|(n, _)| match pattern {
                    Some(p) => condition::name_matches(p, n),
                    // `them`: every selection but those named `_…`.
                    None => !n.starts_with('_'),
                })
                .map(|(_, e)| e.clone())
                .collect();
            if picked.is_empty() {
                return Err(SigmaError::new(
                    "glaux::sigma_condition",
                    "no selection matches this pattern",
                )
                .at(span.clone(), "matches nothing")
                .help("name selections so that the pattern (`*` a wildcard) matches them"));
            }
            if *every { all(picked) } else { any(picked) }
        }
    })
}

/// A selection: a map (its items all hold), a list of maps (one of them
/// holds), or a list of keywords.
fn selection(node: &Node) -> Result<Expr, SigmaError> {
    match &node.kind {
        Kind::Map(entries) => Ok(all(entries
            .iter()
            .map(|(k, v)| item(k, v))
            .collect::<Result<_, _>>()?)),
        Kind::List(items)
            if items.iter().all(|i| matches!(i.kind, Kind::Map(_))) && !items.is_empty() =>
        {
            Ok(any(items
                .iter()
                .map(selection)
                .collect::<Result<_, _>>()?))
        }
        Kind::List(_) | Kind::Str(_) => Err(keywords_unsupported(node.span.clone())),
        _ => Err(rule_error("a selection is a map of fields, or a list")
            .at(node.span.clone(), format!("{} here", node.what()))),
    }
}

fn keywords_unsupported(span: Range<usize>) -> SigmaError {
    SigmaError::new(
        "glaux::sigma_unsupported",
        "keyword searches (values without a field) are not supported yet",
    )
    .at(span, "keywords")
    .help("name the field the keywords are in (`field|contains: …`)")
}

/// The modifiers glaux reads, and those it knows but cannot run.
const MODIFIERS: [&str; 13] = [
    "contains",
    "startswith",
    "endswith",
    "all",
    "cidr",
    "exists",
    "base64",
    "base64offset",
    "windash",
    "gt",
    "gte",
    "lt",
    "lte",
];
const UNSUPPORTED: [(&str, &str); 10] = [
    (
        "re",
        "glaux's regexes match single tokens, and whole-value regexes are not there yet",
    ),
    (
        "expand",
        "placeholders (`%name%`) need values glaux has no configuration for",
    ),
    ("fieldref", "glaux does not compare one field with another"),
    ("cased", "glaux matches case-insensitively only"),
    (
        "wide",
        "UTF-16 values need a base64 of UTF-16 text, which glaux does not write",
    ),
    (
        "utf16",
        "UTF-16 values need a base64 of UTF-16 text, which glaux does not write",
    ),
    (
        "utf16le",
        "UTF-16 values need a base64 of UTF-16 text, which glaux does not write",
    ),
    (
        "utf16be",
        "UTF-16 values need a base64 of UTF-16 text, which glaux does not write",
    ),
    ("neq", "not yet"),
    ("minute", "time-part modifiers are not supported"),
];

/// One `field|modifier|…: value(s)` item.
fn item(key: &Node, value: &Node) -> Result<Expr, SigmaError> {
    let Some(spec) = key.as_str() else {
        return Err(rule_error("a field name must be a string")
            .at(key.span.clone(), format!("{} here", key.what())));
    };
    let mut names = spec.split('|');
    let field = names.next().unwrap_or_default();
    let modifiers: Vec<&str> = names.collect();
    if field.is_empty() {
        return Err(keywords_unsupported(key.span.clone()));
    }
    if !is_field_name(field) {
        return Err(rule_error(format!("glaux cannot name the field `{field}`"))
            .at(key.span.clone(), "this field")
            .help("glaux field names are ASCII letters, digits, `_ . @ -`, starting with a letter, `_` or `@`"));
    }
    for m in &modifiers {
        if let Some((_, why)) = UNSUPPORTED.iter().find(|(u, _)| u == m) {
            return Err(SigmaError::new(
                "glaux::sigma_unsupported",
                format!("the `{m}` modifier is not supported"),
            )
            .at(key.span.clone(), format!("`|{m}`"))
            .help(why.to_string()));
        }
        if !MODIFIERS.contains(m) {
            return Err(SigmaError::new(
                "glaux::sigma_modifier",
                format!("unknown modifier `{m}`"),
            )
            .at(key.span.clone(), format!("`|{m}`"))
            .help("Sigma's modifiers: contains, startswith, endswith, all, re, cidr, exists, base64, base64offset, windash, gt, gte, lt, lte, …"));
        }
    }
    let has = |m: &str| modifiers.contains(&m);
    let values: Vec<&Node> = match &value.kind {
        Kind::List(items) => items.iter().collect(),
        _ => vec![value],
    };
    if has("all") && values.len() < 2 {
        return Err(
            SigmaError::new("glaux::sigma_modifier", "`all` needs a list of values")
                .at(key.span.clone(), "`|all`")
                .help("a single value needs no `all`"),
        );
    }
    // `null`, and an empty list (pySigma reads it as null): absent.
    let absent = || not(matched(Some(field), ValueKind::Exists));
    if values.is_empty() {
        return Ok(absent());
    }
    let mut clauses = Vec::new();
    for v in values {
        clauses.push(one_value(field, &modifiers, v, key)?);
    }
    Ok(if has("all") {
        all(clauses)
    } else {
        any(clauses)
    })
}

fn one_value(field: &str, modifiers: &[&str], v: &Node, key: &Node) -> Result<Expr, SigmaError> {
    let has = |m: &str| modifiers.contains(&m);
    let bad = |what: &str| {
        SigmaError::new("glaux::sigma_modifier", what.to_string())
            .at(v.span.clone(), format!("{} here", v.what()))
    };
    if has("exists") {
        return match v.kind {
            Kind::Bool(true) => Ok(matched(Some(field), ValueKind::Exists)),
            Kind::Bool(false) => Ok(not(matched(Some(field), ValueKind::Exists))),
            _ => Err(bad("`exists` takes `true` or `false`")),
        };
    }
    let text = match &v.kind {
        Kind::Null => {
            if modifiers.iter().any(|m| *m != "all") {
                return Err(bad("a modifier cannot apply to `null`"));
            }
            return Ok(not(matched(Some(field), ValueKind::Exists)));
        }
        Kind::Bool(b) => b.to_string(),
        Kind::Number(n) => n.clone(),
        Kind::Str(s) => s.clone(),
        Kind::List(_) | Kind::Map(_) => {
            return Err(bad("a value is a string, a number, a boolean or null"));
        }
    };
    let compare = ["gt", "gte", "lt", "lte"].iter().find(|m| has(m));
    if let Some(op) = compare {
        if !matches!(v.kind, Kind::Number(_)) {
            return Err(bad("`gt`, `gte`, `lt` and `lte` compare numbers"));
        }
        let (lower, upper) = match *op {
            "gt" => (Bound::Exclusive(text), Bound::Unbounded),
            "gte" => (Bound::Inclusive(text), Bound::Unbounded),
            "lt" => (Bound::Unbounded, Bound::Exclusive(text)),
            _ => (Bound::Unbounded, Bound::Inclusive(text)),
        };
        return Ok(matched(
            Some(field),
            ValueKind::Range(ast::Range { lower, upper }),
        ));
    }
    if has("cidr") {
        return match Cidr::parse(&text) {
            Ok(c) => Ok(matched(Some(field), ValueKind::Cidr(c))),
            Err(_) => Err(bad("`cidr` takes an address block such as `10.0.0.0/8`")),
        };
    }
    // Numbers and booleans are their text; only strings have wildcards.
    let mut patterns = vec![if matches!(v.kind, Kind::Str(_)) {
        value::pattern(&text)
    } else {
        vec![WildPart::Text(text.clone())]
    }];
    for m in modifiers {
        patterns = match *m {
            "base64" | "base64offset" => {
                let mut out = Vec::new();
                for p in &patterns {
                    let Some(plain) = value::plain(p) else {
                        return Err(SigmaError::new(
                            "glaux::sigma_modifier",
                            format!("`{m}` encodes a value without wildcards"),
                        )
                        .at(key.span.clone(), format!("`|{m}`"))
                        .help(format!("put `{m}` before `contains` (`|{m}|contains`), and leave `*` out of the value")));
                    };
                    if *m == "base64" {
                        out.push(vec![WildPart::Text(value::base64(&plain))]);
                    } else {
                        out.extend(
                            value::base64_offsets(&plain)
                                .into_iter()
                                .map(|t| vec![WildPart::Text(t)]),
                        );
                    }
                }
                out
            }
            "windash" => patterns.iter().flat_map(|p| value::windash(p)).collect(),
            "contains" => patterns
                .into_iter()
                .map(|p| value::around(p, true, true))
                .collect(),
            "startswith" => patterns
                .into_iter()
                .map(|p| value::around(p, false, true))
                .collect(),
            "endswith" => patterns
                .into_iter()
                .map(|p| value::around(p, true, false))
                .collect(),
            _ => patterns,
        };
    }
    patterns.dedup();
    // `contains: '*'` is `field:=*`: any value at all.
    Ok(any(patterns
        .into_iter()
        .map(|p| matched(Some(field), ValueKind::Whole(p)))
        .collect()))
}

/// A name glaux's grammar reads as a field, and not one of the record's
/// own (`tag`, `@time`) or `_exists_`.
fn is_field_name(name: &str) -> bool {
    glaux_compiler::parser::is_field_name(name)
        && name != ast::TAG_FIELD
        && name != ast::TIME_FIELD
        && name != ast::EXISTS_FIELD
}
