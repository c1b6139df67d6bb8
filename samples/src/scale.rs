//! Logs at benchmark scale (`glaux gen`): millions of records over weeks,
//! streamed to disk hour by hour, in the shapes AWS writes them —
//! CloudTrail gzip `{"Records":[...]}` objects per region and 10 minutes,
//! VPC flow log text (gzip, per 10 minutes), ALB access log lines (gzip,
//! per 5 minutes), and an application's NDJSON (plain, per hour, with the
//! occasional truncated line).
//!
//! **Needles** of known frequency are planted so a benchmark knows the
//! right answer without trusting any engine: IP addresses from the
//! benchmarking block 198.18.0.0/15, which nothing else generates.
//! `once` is in exactly one record, `rare` in 0.01 %, `pct1` in 1 % — these
//! three share a record's *source* slot (CloudTrail `sourceIPAddress`, the
//! flow log's source address, the ALB client, the app's `client.ip`), the
//! rarest winning when two pick the same record — and `pct30` in 30 %, in
//! the *peer* slot (flow destination, ALB target, app `upstream`,
//! CloudTrail `additionalEventData.forwardedFor`), so it meets the others.
//! Records are picked evenly over the index of all records, hence evenly
//! over time. The exact number of records carrying each needle, per log
//! kind, is counted while writing and returned in the [`Manifest`].
//!
//! Everything derives from the seed: the same options give the same bytes.
//! Hours are independent (each has its own random stream and its first
//! record index), so they are written in parallel.

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use crate::{ACCOUNT, AGENTS, IPS, Rng, USERS, cloudtrail_event, gzip, rfc3339};

/// What to generate.
#[derive(Debug, Clone)]
pub struct ScaleOptions {
    pub seed: u64,
    /// Records in all (every kind together).
    pub events: u64,
    /// Records fall in `[end - days, end)`.
    pub days: u32,
    pub end: DateTime<Utc>,
    /// Threads writing hours in parallel.
    pub threads: usize,
}

/// A log kind and its share of the records, in percent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    CloudTrail,
    VpcFlow,
    Alb,
    App,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::CloudTrail => "cloudtrail",
            Kind::VpcFlow => "vpcflow",
            Kind::Alb => "alb",
            Kind::App => "app",
        }
    }
}

pub const KINDS: [(Kind, u64); 4] = [
    (Kind::CloudTrail, 40),
    (Kind::VpcFlow, 30),
    (Kind::Alb, 20),
    (Kind::App, 10),
];

/// A planted needle: a token and the fraction of records meant to carry it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Needle {
    pub name: &'static str,
    pub token: &'static str,
    /// `None`: exactly one record.
    pub fraction: Option<f64>,
    pub slot: Slot,
}

/// Where in a record a needle goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    Source,
    Peer,
}

/// Rarest first: in the source slot the first needle that picks a record
/// wins.
pub const NEEDLES: [Needle; 4] = [
    Needle {
        name: "once",
        token: "198.18.0.1",
        fraction: None,
        slot: Slot::Source,
    },
    Needle {
        name: "rare",
        token: "198.18.0.2",
        fraction: Some(0.0001),
        slot: Slot::Source,
    },
    Needle {
        name: "pct1",
        token: "198.18.0.3",
        fraction: Some(0.01),
        slot: Slot::Source,
    },
    Needle {
        name: "pct30",
        token: "198.18.0.4",
        fraction: Some(0.30),
        slot: Slot::Peer,
    },
];

impl Needle {
    /// How many of `events` records are picked.
    pub fn wanted(&self, events: u64) -> u64 {
        match self.fraction {
            None => events.min(1),
            Some(f) => ((events as f64) * f).round() as u64,
        }
    }

    /// Whether record `g` of `events` is picked: the picks are spread
    /// evenly, starting half-way (so `once` is mid-period).
    pub fn picks(&self, g: u64, events: u64) -> bool {
        let c = self.wanted(events);
        if c == 0 || events == 0 {
            return false;
        }
        let i = (g + events / 2) % events;
        ((i + 1) as u128 * c as u128 / events as u128) > (i as u128 * c as u128 / events as u128)
    }
}

/// What was written, with the exact needle counts.
#[derive(Debug, Clone, Default)]
pub struct Manifest {
    pub seed: u64,
    pub events: u64,
    pub days: u32,
    pub start: String,
    pub end: String,
    pub files: u64,
    /// Bytes of log text before compression.
    pub raw_bytes: u64,
    /// Bytes on disk (gzip for the AWS kinds, plain for the app log).
    pub written_bytes: u64,
    pub records_by_kind: std::collections::BTreeMap<Kind, u64>,
    /// needle name → (token, kind → records carrying it).
    pub needles: Vec<NeedleCount>,
}

#[derive(Debug, Clone, Default)]
pub struct NeedleCount {
    pub name: String,
    pub token: String,
    pub records: u64,
    pub by_kind: std::collections::BTreeMap<Kind, u64>,
}

impl Manifest {
    /// As JSON (`manifest.json` next to the generated logs).
    pub fn to_json(&self) -> Value {
        let kinds = |m: &std::collections::BTreeMap<Kind, u64>| {
            Value::Object(
                m.iter()
                    .map(|(k, n)| (k.name().to_string(), json!(n)))
                    .collect(),
            )
        };
        json!({
            "seed": self.seed,
            "events": self.events,
            "days": self.days,
            "start": self.start,
            "end": self.end,
            "files": self.files,
            "raw_bytes": self.raw_bytes,
            "written_bytes": self.written_bytes,
            "records_by_kind": kinds(&self.records_by_kind),
            "needles": self.needles.iter().map(|n| json!({
                "name": n.name,
                "token": n.token,
                "records": n.records,
                "by_kind": kinds(&n.by_kind),
            })).collect::<Vec<_>>(),
        })
    }

    /// Reads what [`to_json`](Self::to_json) wrote.
    pub fn from_json(v: &Value) -> Option<Manifest> {
        let kinds = |v: &Value| -> std::collections::BTreeMap<Kind, u64> {
            KINDS
                .iter()
                .filter_map(|(k, _)| Some((*k, v.get(k.name())?.as_u64()?)))
                .collect()
        };
        Some(Manifest {
            seed: v["seed"].as_u64()?,
            events: v["events"].as_u64()?,
            days: v["days"].as_u64()? as u32,
            start: v["start"].as_str()?.to_string(),
            end: v["end"].as_str()?.to_string(),
            files: v["files"].as_u64()?,
            raw_bytes: v["raw_bytes"].as_u64()?,
            written_bytes: v["written_bytes"].as_u64()?,
            records_by_kind: kinds(&v["records_by_kind"]),
            needles: v["needles"]
                .as_array()?
                .iter()
                .map(|n| {
                    Some(NeedleCount {
                        name: n["name"].as_str()?.to_string(),
                        token: n["token"].as_str()?.to_string(),
                        records: n["records"].as_u64()?,
                        by_kind: kinds(&n["by_kind"]),
                    })
                })
                .collect::<Option<Vec<_>>>()?,
        })
    }

    /// Records carrying the needle called `name`.
    pub fn needle(&self, name: &str) -> Option<&NeedleCount> {
        self.needles.iter().find(|n| n.name == name)
    }

    fn add(&mut self, other: &Manifest) {
        self.files += other.files;
        self.raw_bytes += other.raw_bytes;
        self.written_bytes += other.written_bytes;
        for (k, n) in &other.records_by_kind {
            *self.records_by_kind.entry(*k).or_default() += n;
        }
        for (mine, theirs) in self.needles.iter_mut().zip(&other.needles) {
            mine.records += theirs.records;
            for (k, n) in &theirs.by_kind {
                *mine.by_kind.entry(*k).or_default() += n;
            }
        }
    }

    fn empty() -> Manifest {
        Manifest {
            needles: NEEDLES
                .iter()
                .map(|n| NeedleCount {
                    name: n.name.into(),
                    token: n.token.into(),
                    ..NeedleCount::default()
                })
                .collect(),
            ..Manifest::default()
        }
    }
}

/// Writes the logs under `dir` and returns what was written. `progress`
/// is told each finished hour (from the writing threads).
pub fn generate(
    options: &ScaleOptions,
    dir: &Path,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> std::io::Result<Manifest> {
    let hours = u64::from(options.days.max(1)) * 24;
    let start = options.end - Duration::hours(hours as i64);
    let done = std::sync::atomic::AtomicU64::new(0);
    let threads = options.threads.clamp(1, 64) as u64;
    let results: Vec<std::io::Result<Manifest>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let done = &done;
                scope.spawn(move || {
                    let mut total = Manifest::empty();
                    for h in (t..hours).step_by(threads as usize) {
                        let m = write_hour(options, dir, start, h, hours)?;
                        total.add(&m);
                        let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                        progress(n, hours);
                    }
                    Ok(total)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a generator thread panicked"))
            .collect()
    });
    let mut manifest = Manifest::empty();
    for r in results {
        manifest.add(&r?);
    }
    manifest.seed = options.seed;
    manifest.events = options.events;
    manifest.days = options.days;
    manifest.start = rfc3339(start);
    manifest.end = rfc3339(options.end);
    Ok(manifest)
}

/// One record before it is written: its time, kind, text and needles.
struct Pending {
    time: DateTime<Utc>,
    /// Object key this record goes to (the slot's file).
    key: String,
    kind: Kind,
    text: String,
    needles: Vec<usize>,
}

fn write_hour(
    options: &ScaleOptions,
    dir: &Path,
    start: DateTime<Utc>,
    h: u64,
    hours: u64,
) -> std::io::Result<Manifest> {
    let n = options.events;
    let first = (h as u128 * n as u128 / hours as u128) as u64;
    let last = ((h + 1) as u128 * n as u128 / hours as u128) as u64;
    let mut rng = Rng(options.seed ^ (h + 1).wrapping_mul(0xA24B_AED4_963E_E407));
    let hour_start = start + Duration::hours(h as i64);
    let mut pending: Vec<Pending> = Vec::with_capacity((last - first) as usize);
    for g in first..last {
        let time = hour_start + Duration::milliseconds((rng.next() % 3_599_000) as i64);
        let roll = rng.below(100) as u64;
        let mut acc = 0;
        let kind = KINDS
            .iter()
            .find(|(_, share)| {
                acc += share;
                roll < acc
            })
            .map(|(k, _)| *k)
            .expect("shares sum to 100");
        let source = NEEDLES
            .iter()
            .position(|nd| nd.slot == Slot::Source && nd.picks(g, n));
        let peer = NEEDLES
            .iter()
            .position(|nd| nd.slot == Slot::Peer && nd.picks(g, n));
        let needles: Vec<usize> = source.into_iter().chain(peer).collect();
        let source_ip = source.map(|i| NEEDLES[i].token);
        let peer_ip = peer.map(|i| NEEDLES[i].token);
        let (key, text) = match kind {
            Kind::CloudTrail => cloudtrail(&mut rng, time, source_ip, peer_ip),
            Kind::VpcFlow => flow(&mut rng, time, source_ip, peer_ip),
            Kind::Alb => alb(&mut rng, time, source_ip, peer_ip),
            Kind::App => app(&mut rng, time, source_ip, peer_ip, g),
        };
        pending.push(Pending {
            time,
            key,
            kind,
            text,
            needles,
        });
    }
    pending.sort_by(|a, b| (&a.key, a.time).cmp(&(&b.key, b.time)));

    let mut manifest = Manifest::empty();
    let mut i = 0;
    while i < pending.len() {
        let key = pending[i].key.clone();
        let kind = pending[i].kind;
        let mut j = i;
        while j < pending.len() && pending[j].key == key {
            j += 1;
        }
        let records = &pending[i..j];
        let body = match kind {
            Kind::CloudTrail => {
                let texts: Vec<&str> = records.iter().map(|r| r.text.as_str()).collect();
                format!("{{\"Records\":[{}]}}", texts.join(","))
            }
            Kind::VpcFlow => {
                let mut b = String::from(FLOW_HEADER);
                b.push('\n');
                for r in records {
                    b.push_str(&r.text);
                    b.push('\n');
                }
                b
            }
            Kind::Alb | Kind::App => {
                let mut b = String::new();
                for r in records {
                    b.push_str(&r.text);
                    b.push('\n');
                }
                b
            }
        };
        let bytes = if kind == Kind::App {
            body.as_bytes().to_vec()
        } else {
            gzip(body.as_bytes())
        };
        let path: PathBuf = dir.join(&key);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let mut f = std::fs::File::create(&path)?;
        f.write_all(&bytes)?;
        manifest.files += 1;
        manifest.raw_bytes += body.len() as u64;
        manifest.written_bytes += bytes.len() as u64;
        *manifest.records_by_kind.entry(kind).or_default() += records.len() as u64;
        for r in records {
            for &nd in &r.needles {
                manifest.needles[nd].records += 1;
                *manifest.needles[nd].by_kind.entry(kind).or_default() += 1;
            }
        }
        i = j;
    }
    Ok(manifest)
}

/// The start of the `minutes`-long slot holding `t`.
fn slot(t: DateTime<Utc>, minutes: i64) -> DateTime<Utc> {
    let s = t.timestamp();
    DateTime::from_timestamp(s - s.rem_euclid(minutes * 60), 0).expect("slot time")
}

/// A stable per-slot suffix, as AWS's random object-name parts are.
fn slot_id(t: DateTime<Utc>, salt: u64) -> String {
    let mut r = Rng(t.timestamp() as u64 ^ salt);
    r.hex(16)
}

fn cloudtrail(
    rng: &mut Rng,
    time: DateTime<Utc>,
    source: Option<&str>,
    peer: Option<&str>,
) -> (String, String) {
    let mut event = cloudtrail_event(rng, time);
    if let Some(ip) = source {
        event["sourceIPAddress"] = json!(ip);
    }
    if let Some(ip) = peer {
        let extra = event
            .as_object_mut()
            .expect("object")
            .entry("additionalEventData")
            .or_insert_with(|| json!({}));
        if let Value::Object(m) = extra {
            m.insert("forwardedFor".into(), json!(ip));
        }
    }
    let region = event["awsRegion"]
        .as_str()
        .unwrap_or("us-east-1")
        .to_string();
    let s = slot(time, 10);
    let key = format!(
        "cloudtrail/AWSLogs/{ACCOUNT}/CloudTrail/{region}/{}/{ACCOUNT}_CloudTrail_{region}_{}_{}.json.gz",
        s.format("%Y/%m/%d"),
        s.format("%Y%m%dT%H%MZ"),
        slot_id(s, region.len() as u64)
    );
    (key, serde_json::to_string(&event).expect("json"))
}

const FLOW_HEADER: &str = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status";

fn flow(
    rng: &mut Rng,
    time: DateTime<Utc>,
    source: Option<&str>,
    peer: Option<&str>,
) -> (String, String) {
    let src = source.unwrap_or(*rng.pick(&[
        "10.0.0.1",
        "10.0.0.11",
        "110.0.0.119",
        "172.31.5.9",
        "172.31.40.2",
        "fe80::1",
    ]));
    let dst = peer.unwrap_or(*rng.pick(&["10.0.1.20", "203.0.113.7", "8.8.8.8", "172.31.0.2"]));
    let action = if rng.chance(85) { "ACCEPT" } else { "REJECT" };
    let line = format!(
        "2 {ACCOUNT} eni-{} {src} {dst} {} {} {} {} {} {} {} {action} OK",
        rng.hex(17),
        rng.below(60000) + 1024,
        rng.pick(&[22, 53, 443, 3389, 8080]),
        rng.pick(&[6, 17]),
        rng.below(50) + 1,
        rng.below(90000) + 40,
        time.timestamp(),
        time.timestamp() + 60
    );
    let s = slot(time, 10);
    let key = format!(
        "vpcflow/AWSLogs/{ACCOUNT}/vpcflowlogs/us-east-1/{}/{ACCOUNT}_vpcflowlogs_us-east-1_fl-0a1b2c3d4e5f67890_{}_{}.log.gz",
        s.format("%Y/%m/%d"),
        s.format("%Y%m%dT%H%MZ"),
        &slot_id(s, 7)[..8]
    );
    (key, line)
}

fn alb(
    rng: &mut Rng,
    time: DateTime<Utc>,
    source: Option<&str>,
    peer: Option<&str>,
) -> (String, String) {
    let client = source.unwrap_or(*rng.pick(&IPS[..6]));
    let target = peer.unwrap_or(*rng.pick(&["10.0.1.20", "10.0.1.21", "10.0.2.8"]));
    let path = *rng.pick(&[
        "/",
        "/login",
        "/api/v1/users?id=42",
        "/admin/config.php",
        "/static/app.js",
        "/.env",
        "/api/v1/orders/9c1d",
    ]);
    let method = *rng.pick(&["GET", "GET", "GET", "POST", "PUT"]);
    let status = *rng.pick(&[200, 200, 200, 301, 403, 404, 500, 502]);
    let agent = *rng.pick(&AGENTS[..3]);
    let line = format!(
        "https {} app/web/0f1e2d3c4b5a6978 {client}:{} {target}:80 0.{:03} 0.{:03} 0.000 {status} {status} {} {} \"{method} https://shop.example.com:443{path} HTTP/1.1\" \"{agent}\" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT}:targetgroup/web/73e2d6bc24d8a067 \"Root=1-{:08x}-{}\" \"shop.example.com\" \"arn:aws:acm:us-east-1:{ACCOUNT}:certificate/{}\" 0 {} \"forward\" \"-\" \"-\" \"-\" \"{status}\" \"-\" \"-\"",
        time.format("%Y-%m-%dT%H:%M:%S%.6fZ"),
        rng.below(60000) + 1024,
        rng.below(1000),
        rng.below(1000),
        rng.below(2000) + 100,
        rng.below(90000) + 200,
        time.timestamp(),
        rng.hex(24),
        rng.hex(32),
        time.format("%Y-%m-%dT%H:%M:%S%.6fZ"),
    );
    let s = slot(time, 5);
    let key = format!(
        "alb/AWSLogs/{ACCOUNT}/elasticloadbalancing/us-east-1/{}/{ACCOUNT}_elasticloadbalancing_us-east-1_app.web.0f1e2d3c4b5a6978_{}_10.0.1.5_{}.log.gz",
        s.format("%Y/%m/%d"),
        s.format("%Y%m%dT%H%MZ"),
        &slot_id(s, 11)[..12]
    );
    (key, line)
}

fn app(
    rng: &mut Rng,
    time: DateTime<Utc>,
    source: Option<&str>,
    peer: Option<&str>,
    g: u64,
) -> (String, String) {
    let key = format!("app/{}/auth-service.ndjson", time.format("%Y/%m/%d/%H"));
    let ip = source.unwrap_or(*rng.pick(IPS));
    let mut v = json!({
        "ts": time.timestamp_millis(),
        "level": *rng.pick(&["info", "info", "INFO", "warn", "error"]),
        "msg": *rng.pick(&["Failed password for root", "login ok", "session opened", "token refreshed", "Größe überschritten", "it's \"quoted\""]),
        "user": *rng.pick(USERS),
        "client": {"ip": ip, "port": rng.below(65535)},
        "tags": ["auth", *rng.pick(&["web", "API", ""])],
        "latency_ms": rng.below(1000),
    });
    if let Some(p) = peer {
        v["upstream"] = json!(p);
    }
    let mut line = serde_json::to_string(&v).expect("json");
    // One line in 500 is cut short, as a crashing writer leaves it: still a
    // record (stored as text), still findable.
    if g % 500 == 250 {
        let cut = line.len() * 2 / 3;
        let cut = (0..=cut)
            .rev()
            .find(|&i| line.is_char_boundary(i))
            .unwrap_or(0);
        line.truncate(cut);
        // Keep the needles findable whole.
        for t in [source, peer].into_iter().flatten() {
            if !line.contains(t) {
                line.push_str(&format!(" {t}"));
            }
        }
    }
    (key, line)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn end() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2024-05-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn needle_picks_are_exact_and_spread() {
        for events in [1u64, 7, 1000, 123_457] {
            for nd in NEEDLES {
                let picked: Vec<u64> = (0..events).filter(|&g| nd.picks(g, events)).collect();
                assert_eq!(
                    picked.len() as u64,
                    nd.wanted(events),
                    "{} of {events}",
                    nd.name
                );
            }
        }
        // `once` is mid-period.
        let once: Vec<u64> = (0..1000).filter(|&g| NEEDLES[0].picks(g, 1000)).collect();
        assert_eq!(once, [499]);
    }

    #[test]
    fn same_options_same_bytes_and_counts_match_the_files() {
        let options = ScaleOptions {
            seed: 3,
            events: 20_000,
            days: 1,
            end: end(),
            threads: 2,
        };
        let base = std::env::temp_dir().join(format!("glaux-scale-test-{}", std::process::id()));
        let (a, b) = (base.join("a"), base.join("b"));
        let ma = generate(&options, &a, &|_, _| {}).unwrap();
        let mb = generate(
            &ScaleOptions {
                threads: 1,
                ..options.clone()
            },
            &b,
            &|_, _| {},
        )
        .unwrap();
        assert_eq!(
            Manifest::from_json(&ma.to_json()).unwrap().to_json(),
            ma.to_json()
        );
        assert_eq!(ma.files, mb.files);
        assert_eq!(ma.written_bytes, mb.written_bytes);
        assert_eq!(ma.records_by_kind.values().sum::<u64>(), 20_000);
        // Every needle's count is what was asked for (the source-slot ones
        // lose only records a rarer needle took).
        let once = ma.needle("once").unwrap().records;
        let rare = ma.needle("rare").unwrap().records;
        let pct1 = ma.needle("pct1").unwrap().records;
        let pct30 = ma.needle("pct30").unwrap().records;
        assert_eq!(once, 1);
        assert!((1..=2).contains(&rare), "{rare}");
        assert!((198..=200).contains(&pct1), "{pct1}");
        assert_eq!(pct30, 6_000);
        // The files say the same: count needle occurrences in what was
        // written (each needle at most once per record).
        let mut found = std::collections::BTreeMap::<&str, u64>::new();
        let mut files = vec![a.clone()];
        while let Some(p) = files.pop() {
            if p.is_dir() {
                files.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
                continue;
            }
            let bytes = std::fs::read(&p).unwrap();
            let text = if bytes.starts_with(&[0x1f, 0x8b]) {
                let mut s = String::new();
                std::io::Read::read_to_string(
                    &mut flate2::read::GzDecoder::new(&bytes[..]),
                    &mut s,
                )
                .unwrap();
                s
            } else {
                String::from_utf8(bytes).unwrap()
            };
            for nd in NEEDLES {
                // Whole tokens only: 198.18.0.1 must not count 198.18.0.10.
                let n = text
                    .match_indices(nd.token)
                    .filter(|(i, _)| {
                        !text[i + nd.token.len()..].starts_with(|c: char| c.is_ascii_digit())
                    })
                    .count() as u64;
                *found.entry(nd.name).or_default() += n;
            }
        }
        assert_eq!(found["once"], once);
        assert_eq!(found["rare"], rare);
        assert_eq!(found["pct1"], pct1);
        assert_eq!(found["pct30"], pct30);
        std::fs::remove_dir_all(&base).unwrap();
    }
}
