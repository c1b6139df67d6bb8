//! Draws a stage's table ([`glaux_search::table::Table`]): a grid fitted
//! to the terminal, with bars for the column that has one, or JSON, NDJSON
//! or CSV.

use std::io::{self, Write};

use glaux_search::table::{Cell, Table};

/// True if the column holds numbers (right-aligned in the table view):
/// every cell a number or empty, and one at least.
fn numeric(table: &Table, col: usize) -> bool {
    table
        .rows
        .iter()
        .all(|r| matches!(r[col], Cell::Int(_) | Cell::Float(_) | Cell::Null))
        && table.rows.iter().any(|r| r[col].number().is_some())
}

/// Writes `table` in `format` (`vertical` is the table view too). `width`
/// is the terminal's, for bars; `color` draws them in colour.
pub fn write(
    out: &mut dyn Write,
    table: &Table,
    format: crate::output::Format,
    width: Option<usize>,
    color: bool,
) -> io::Result<()> {
    use crate::output::Format;
    match format {
        Format::Table | Format::Raw | Format::Vertical => write_grid(out, table, width, color),
        Format::Json => {
            writeln!(out, "[")?;
            for (i, row) in table.rows.iter().enumerate() {
                let sep = if i + 1 < table.rows.len() { "," } else { "" };
                writeln!(out, "  {}{sep}", row_json(table, row))?;
            }
            writeln!(out, "]")
        }
        Format::Ndjson => {
            for row in &table.rows {
                writeln!(out, "{}", row_json(table, row))?;
            }
            Ok(())
        }
        Format::Csv => {
            let mut w = csv::Writer::from_writer(out);
            w.write_record(&table.columns)?;
            for row in &table.rows {
                w.write_record(row.iter().map(Cell::text))?;
            }
            w.flush()
        }
    }
}

/// One row as a JSON object, keys in column order.
fn row_json(table: &Table, row: &[Cell]) -> String {
    let mut map = serde_json::Map::new();
    for (name, cell) in table.columns.iter().zip(row) {
        map.insert(name.clone(), cell.json());
    }
    serde_json::Value::Object(map).to_string()
}

/// Unicode eighth blocks, for bars a fraction of a cell long.
const EIGHTHS: [&str; 8] = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"];

/// A bar of `fraction` (0..=1) of `cells` cells.
fn bar(fraction: f64, cells: usize) -> String {
    let eighths = (fraction.clamp(0.0, 1.0) * (cells * 8) as f64).round() as usize;
    let mut s = "█".repeat(eighths / 8);
    s.push_str(EIGHTHS[eighths % 8]);
    s
}

fn write_grid(
    out: &mut dyn Write,
    table: &Table,
    width: Option<usize>,
    color: bool,
) -> io::Result<()> {
    let cells: Vec<Vec<String>> = table
        .rows
        .iter()
        .map(|r| {
            r.iter()
                .map(|c| crate::output::one_line(&c.text()))
                .collect()
        })
        .collect();
    let widths: Vec<usize> = table
        .columns
        .iter()
        .enumerate()
        .map(|(i, name)| {
            cells
                .iter()
                .map(|r| r[i].chars().count())
                .chain([name.chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let right: Vec<bool> = (0..table.columns.len())
        .map(|i| numeric(table, i))
        .collect();
    let pad = |text: &str, i: usize| {
        let n = widths[i].saturating_sub(text.chars().count());
        if right[i] {
            format!("{}{text}", " ".repeat(n))
        } else {
            format!("{text}{}", " ".repeat(n))
        }
    };
    let used: usize = widths.iter().sum::<usize>() + 2 * widths.len().saturating_sub(1);
    let bar_cells = table
        .bar
        .map(|_| width.unwrap_or(100).saturating_sub(used + 2).clamp(10, 60));
    let header: Vec<String> = table
        .columns
        .iter()
        .enumerate()
        .map(|(i, c)| pad(c, i))
        .collect();
    writeln!(out, "{}", header.join("  ").trim_end())?;
    let rule: Vec<String> = widths.iter().map(|w| "─".repeat(*w)).collect();
    writeln!(out, "{}", rule.join("  "))?;
    let max = table.bar_full.or_else(|| {
        table.bar.and_then(|b| {
            table
                .rows
                .iter()
                .filter_map(|r| r[b].number())
                .fold(None, |m: Option<f64>, x| Some(m.map_or(x, |m| m.max(x))))
        })
    });
    for (i, (row, texts)) in table.rows.iter().zip(&cells).enumerate() {
        let repeats = table.grouped > 0
            && i > 0
            && table.rows[i - 1][..table.grouped] == row[..table.grouped];
        let mut line: Vec<String> = texts
            .iter()
            .enumerate()
            .map(|(j, t)| match repeats && j < table.grouped {
                true => pad("", j),
                false => pad(t, j),
            })
            .collect();
        if let (Some(b), Some(n), Some(max)) = (table.bar, bar_cells, max) {
            let x = row[b].number().unwrap_or(0.0);
            let fraction = if max > 0.0 { x / max } else { 0.0 };
            let drawn = bar(fraction, n);
            line.push(if color {
                format!("\x1b[36m{drawn}\x1b[0m")
            } else {
                drawn
            });
        }
        writeln!(out, "{}", line.join("  ").trim_end())?;
    }
    if table.rows.is_empty() {
        writeln!(out, "(no rows)")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_are_eighths_of_cells() {
        assert_eq!(bar(1.0, 4), "████");
        assert_eq!(bar(0.5, 3), "█▌");
        assert_eq!(bar(0.0, 10), "");
        assert_eq!(bar(0.5, 1), "▌");
        // Half an eighth rounds up to one: a non-zero count shows.
        assert_eq!(bar(1.0 / 16.0, 1), "▏");
    }

    /// `summary`'s table view: a field's name, records and distinct
    /// values once, then its values; bars of the percent, whole at 100.
    #[test]
    fn summary_prints_each_field_once_with_percent_bars() {
        let row = |f: &str, v: &str, n: i64, p: f64| {
            vec![
                Cell::Text(f.into()),
                Cell::Int(4),
                Cell::Int(2),
                Cell::Text(v.into()),
                Cell::Int(n),
                Cell::Float(p),
            ]
        };
        let table = Table {
            columns: ["field", "records", "distinct", "value", "count", "percent"]
                .map(String::from)
                .to_vec(),
            rows: vec![
                row("user", "alice", 3, 75.0),
                row("user", "bob", 1, 25.0),
                row("ip", "10.0.0.1", 2, 50.0),
            ],
            bar: Some(5),
            bar_full: Some(100.0),
            grouped: 3,
        };
        let mut out = Vec::new();
        write_grid(&mut out, &table, Some(70), false).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 5, "{text}");
        assert!(lines[2].starts_with("user  "), "{text}");
        assert!(lines[3].starts_with("      "), "{text}");
        assert!(lines[3].contains("bob"), "{text}");
        assert!(lines[4].starts_with("ip  "), "{text}");
        // 75 % is three quarters of a whole bar, 50 % two thirds of it.
        let cells = |l: &str| l.chars().filter(|&c| c == '█').count();
        let whole = (70usize - (lines[0].chars().count() + 2)).clamp(10, 60);
        assert_eq!(cells(lines[2]), whole * 3 / 4, "{text}");
        assert_eq!(cells(lines[4]), whole / 2, "{text}");
    }
}
