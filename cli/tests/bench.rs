//! `glaux gen` and `glaux bench` end to end at a small scale: the generator
//! writes its manifest, the bench ingests, runs every query class over
//! every window on glaux's SQL and on the naive query (and ripgrep when
//! installed), and exits 0 only if every count agrees with the others and
//! with the needles the manifest promises.

use std::process::Command;

fn glaux() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_glaux"));
    c.env("NO_COLOR", "1");
    c
}

fn files_under(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| if p.is_dir() { files_under(&p) } else { 1 })
        .sum()
}

#[test]
fn gen_then_bench_agrees_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = glaux()
        .args([
            "gen", "--events", "6000", "--days", "2", "--seed", "9", "--out",
        ])
        .arg(&data)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.starts_with("6000 records"), "{stdout}");
    assert!(
        stdout.contains("needle once   198.18.0.1  in 1 records"),
        "{stdout}"
    );
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(data.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["events"], 6000);
    assert_eq!(manifest["needles"][3]["records"], 1800);

    // The same options again refuse to overwrite.
    let again = glaux()
        .args(["gen", "--events", "6000", "--out"])
        .arg(&data)
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(2));

    // No keys is no measurement: refused before anything runs.
    let zero = glaux()
        .args(["bench", "--fetch-keys", "10,0", "--data"])
        .arg(&data)
        .output()
        .unwrap();
    assert_eq!(zero.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&zero.stderr).contains("--fetch-keys"),
        "{}",
        String::from_utf8_lossy(&zero.stderr)
    );

    let out = glaux()
        // Compacted first: the searches open a file per hour and table, not
        // hundreds, which keeps this test quick (compaction has its own).
        .args([
            "bench",
            "--repeats",
            "1",
            "--compact",
            "--fetch-keys",
            "10,60",
        ])
        .arg("--data")
        .arg(&data)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{report}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Every record, plus one header line per VPC flow log object (stored
    // and findable like any line).
    let flow_objects = files_under(&data.join("raw/vpcflow"));
    assert!(flow_objects > 0);
    assert!(
        report.contains(&format!("\n{} records in ", 6000 + flow_objects)),
        "{report}"
    );
    let (searches, compiles) = report.split_once("## Compile").expect("a compile section");
    let (compiles, stages) = compiles
        .split_once("## Stages (one day)")
        .expect("a stages section");
    let (stages, fetches) = stages
        .split_once("## Fetch by key against the join")
        .expect("a fetch section");
    // The stage over every record and the selective one (twice: against
    // the search as the REPL runs it and exported), each answering as the
    // hand-written json_extract_scalar query does.
    let stage_rows: Vec<&str> = stages.lines().filter(|l| l.starts_with("| ")).collect();
    assert_eq!(stage_rows.len(), 1 + 3, "{stages}");
    assert!(
        stage_rows.iter().skip(1).all(|r| r.ends_with("| yes |")),
        "{stages}"
    );
    assert!(stage_rows[1].contains("| hand-written |"), "{stages}");
    // The 1 % needle's newest 10, and a limit of 60 that is more than it
    // has (59 records: the walk reads every hour), by key and by the join:
    // the same rows both ways.
    let fetch_rows: Vec<&str> = fetches.lines().filter(|l| l.starts_with("| ")).collect();
    assert_eq!(fetch_rows.len(), 1 + 2, "{fetches}");
    assert!(fetch_rows[1].starts_with("| 10 |"), "{fetches}");
    assert!(fetch_rows[1].ends_with("| 10 / 10 |"), "{fetches}");
    let pct1 = &manifest["needles"][2];
    assert_eq!(pct1["name"], "pct1");
    let all = pct1["records"].as_u64().unwrap();
    assert!((11..60).contains(&all), "{pct1}");
    assert!(
        fetch_rows[2].ends_with(&format!("| {all} / {all} |")),
        "{fetches}"
    );
    let (searches, bytes) = searches
        .split_once("## Where glaux's bytes go")
        .expect("a pruning section");
    assert_eq!(
        bytes.lines().filter(|l| l.starts_with("| ")).count(),
        1 + 11,
        "{bytes}"
    );
    assert!(bytes.contains("row_groups_pruned_statistics"), "{bytes}");
    let rows: Vec<&str> = searches.lines().filter(|l| l.starts_with("| ")).collect();
    // Header + one row per class, each with its p50 and p99.
    let compile_rows: Vec<&str> = compiles.lines().filter(|l| l.starts_with("| ")).collect();
    assert_eq!(compile_rows.len(), 1 + 11, "{compiles}");
    // Header + 11 classes × 3 windows.
    assert_eq!(rows.len(), 1 + 33, "{report}");
    assert!(
        rows.iter().skip(1).all(|r| r.ends_with("| yes |")),
        "{report}"
    );
    let once = rows
        .iter()
        .find(|r| r.starts_with("| term in one record | all |"))
        .unwrap();
    assert!(once.contains("| 1 / 1 / "), "{once}");
    assert!(once.contains(" / 1 | yes |"), "{once}");
}
