//! Every rule file in `rules/`: what each of its rules becomes (metadata,
//! the glaux query, the SQL that query compiles to), or the diagnostic
//! that stopped it, pinned as a snapshot. The SQL also passes the
//! compiler's own checks; values from the YAML reach it only as literals.

use chrono::{DateTime, Utc};
use glaux_compiler::{CompileOptions, compile};
use miette::{GraphicalReportHandler, GraphicalTheme};

fn render(diagnostic: &dyn miette::Diagnostic) -> String {
    let mut out = String::new();
    GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor())
        .with_width(100)
        .render_report(&mut out, diagnostic)
        .unwrap();
    out
}

#[test]
fn rule_files() {
    let now: DateTime<Utc> = "2024-05-01T12:00:00Z".parse().unwrap();
    insta::glob!("rules/*.yml", |path| {
        let text = std::fs::read_to_string(path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let mut out = String::new();
        for (i, rule) in glaux_sigma::rules(&text).into_iter().enumerate() {
            out.push_str(&format!("=== rule {}\n", i + 1));
            match rule {
                Err(e) => out.push_str(&render(&e.with_file(&name, &text))),
                Ok(rule) => {
                    out.push_str(&format!(
                        "title: {}\nid: {}\nlevel: {}\nattack: {}\ntag: {}\nquery: {}\n",
                        rule.title,
                        rule.id.as_deref().unwrap_or("-"),
                        rule.level.as_deref().unwrap_or("-"),
                        rule.attack_tags().collect::<Vec<_>>().join(", "),
                        rule.tag.as_deref().unwrap_or("-"),
                        rule.query
                    ));
                    // The query parses back to itself: the printer escaped it.
                    let again = glaux_compiler::parser::parse(&rule.query)
                        .unwrap_or_else(|e| panic!("{name}: {}: {e:?}", rule.query));
                    assert_eq!(again.to_string(), rule.query, "{name}");
                    match compile(&rule.query, &CompileOptions::at(now)) {
                        Ok(c) => out.push_str(&format!("\n{}\n", c.sql)),
                        Err(e) => out.push_str(&render(&e.with_source(&rule.query))),
                    }
                }
            }
        }
        insta::assert_snapshot!(out);
    });
}
