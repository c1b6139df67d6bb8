//! Deterministic sample logs: CloudTrail objects (gzip `{"Records":[...]}`),
//! VPC flow log text lines (gzip), and an application's NDJSON log with a few
//! malformed lines. The same seed and end time give the same bytes.
//!
//! The values are chosen to be adversarial for search: IPs that are prefixes
//! of each other (`10.0.0.1`, `10.0.0.11`, `110.0.0.119`), mixed case,
//! unicode, quotes, empty strings, numbers as strings and as numbers, arrays,
//! nested objects, missing fields, and lines that are not JSON.
#![forbid(unsafe_code)]

pub mod scale;

use std::io::Write;
use std::path::Path;

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

/// What to generate.
#[derive(Debug, Clone)]
pub struct SampleOptions {
    pub seed: u64,
    /// Records fall in `[end - hours, end)`.
    pub end: DateTime<Utc>,
    pub hours: u32,
    pub cloudtrail_events: usize,
    pub flow_lines: usize,
    pub app_lines: usize,
}

impl SampleOptions {
    /// The demo data set: a day of logs ending at `end`.
    pub fn demo(end: DateTime<Utc>) -> Self {
        SampleOptions {
            seed: 7,
            end,
            hours: 24,
            cloudtrail_events: 2000,
            flow_lines: 600,
            app_lines: 300,
        }
    }

    /// The demo set with `factor` times the records (for benchmarks).
    pub fn scaled(end: DateTime<Utc>, factor: u32) -> Self {
        let f = factor.max(1) as usize;
        let demo = SampleOptions::demo(end);
        SampleOptions {
            cloudtrail_events: demo.cloudtrail_events * f,
            flow_lines: demo.flow_lines * f,
            app_lines: demo.app_lines * f,
            ..demo
        }
    }

    /// A small set for tests.
    pub fn small(end: DateTime<Utc>) -> Self {
        SampleOptions {
            seed: 42,
            end,
            hours: 6,
            cloudtrail_events: 400,
            flow_lines: 120,
            app_lines: 80,
        }
    }
}

/// One generated file: where it goes (relative path), its bytes, and the
/// text of each record in it, in order (for tests that compute expectations).
#[derive(Debug, Clone)]
pub struct SampleFile {
    pub path: String,
    pub bytes: Vec<u8>,
    pub records: Vec<String>,
}

/// splitmix64: tiny, deterministic, good enough for sample data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    fn hex(&mut self, len: usize) -> String {
        (0..len)
            .map(|_| char::from_digit((self.next() % 16) as u32, 16).expect("hex digit"))
            .collect()
    }
}

const ACCOUNT: &str = "123456789012";
const IPS: &[&str] = &[
    "10.0.0.1",
    "10.0.0.11",
    "110.0.0.119",
    "10.0.0.1",
    "203.0.113.7",
    "198.51.100.23",
    "2001:db8::1",
    "192.0.2.44",
    "ec2.amazonaws.com",
    "AWS Internal",
];
const USERS: &[&str] = &[
    "alice",
    "Alice",
    "bob",
    "émilie",
    "o'brien",
    "svc-deploy",
    "admin",
];
const REGIONS: &[&str] = &["us-east-1", "us-west-2", "eu-west-1"];
const AGENTS: &[&str] = &[
    "aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36",
    "Boto3/1.34.0 md/Botocore#1.34.0 ua/2.0 os/linux",
    "console.amazonaws.com",
    "",
];

/// (eventSource, eventName, readOnly)
const EVENTS: &[(&str, &str, bool)] = &[
    ("signin.amazonaws.com", "ConsoleLogin", false),
    ("sts.amazonaws.com", "AssumeRole", true),
    ("sts.amazonaws.com", "GetCallerIdentity", true),
    ("ec2.amazonaws.com", "DescribeInstances", true),
    ("ec2.amazonaws.com", "DescribeSecurityGroups", true),
    ("ec2.amazonaws.com", "RunInstances", false),
    ("s3.amazonaws.com", "GetObject", true),
    ("s3.amazonaws.com", "PutObject", false),
    ("s3.amazonaws.com", "ListBuckets", true),
    ("iam.amazonaws.com", "CreateUser", false),
    ("iam.amazonaws.com", "AttachUserPolicy", false),
    ("iam.amazonaws.com", "CreateAccessKey", false),
    ("cloudtrail.amazonaws.com", "StopLogging", false),
    ("guardduty.amazonaws.com", "DeleteDetector", false),
];

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).expect("gzip to memory");
    enc.finish().expect("gzip to memory")
}

fn cloudtrail_event(rng: &mut Rng, time: DateTime<Utc>) -> Value {
    let &(source, name, read_only) = rng.pick(EVENTS);
    let user = *rng.pick(USERS);
    let region = *rng.pick(REGIONS);
    let ip = *rng.pick(IPS);
    let identity = match rng.below(3) {
        0 => json!({
            "type": "IAMUser",
            "principalId": format!("AIDA{}", rng.hex(16).to_uppercase()),
            "arn": format!("arn:aws:iam::{ACCOUNT}:user/{user}"),
            "accountId": ACCOUNT,
            "accessKeyId": format!("AKIA{}", rng.hex(16).to_uppercase()),
            "userName": user,
        }),
        1 => json!({
            "type": "AssumedRole",
            "principalId": format!("AROA{}:{user}", rng.hex(16).to_uppercase()),
            "arn": format!("arn:aws:sts::{ACCOUNT}:assumed-role/OrganizationAccountAccessRole/{user}"),
            "accountId": ACCOUNT,
            "sessionContext": {
                "sessionIssuer": {"type": "Role", "userName": "OrganizationAccountAccessRole"},
                "attributes": {"creationDate": rfc3339(time - Duration::minutes(5)), "mfaAuthenticated": "false"}
            }
        }),
        _ => json!({
            "type": "Root",
            "principalId": ACCOUNT,
            "arn": format!("arn:aws:iam::{ACCOUNT}:root"),
            "accountId": ACCOUNT,
        }),
    };
    let mut event = json!({
        "eventVersion": "1.08",
        "userIdentity": identity,
        "eventTime": rfc3339(time),
        "eventSource": source,
        "eventName": name,
        "awsRegion": region,
        "sourceIPAddress": ip,
        "userAgent": *rng.pick(AGENTS),
        "requestID": rng.hex(32),
        "eventID": format!("{}-{}-{}", rng.hex(8), rng.hex(4), rng.hex(12)),
        "readOnly": read_only,
        "eventType": if name == "ConsoleLogin" { "AwsConsoleSignIn" } else { "AwsApiCall" },
        "managementEvent": true,
        "recipientAccountId": ACCOUNT,
    });
    let obj = event.as_object_mut().expect("object");
    match name {
        "ConsoleLogin" => {
            let ok = rng.chance(60);
            obj.insert(
                "responseElements".into(),
                json!({"ConsoleLogin": if ok { "Success" } else { "Failure" }}),
            );
            obj.insert(
                "additionalEventData".into(),
                json!({"MFAUsed": if rng.chance(50) { "Yes" } else { "No" }, "LoginTo": "https://console.aws.amazon.com/console/home?state=hashArgs%23"}),
            );
            if !ok {
                obj.insert("errorMessage".into(), json!("Failed authentication"));
            }
        }
        "RunInstances" => {
            obj.insert(
                "requestParameters".into(),
                json!({
                    "instancesSet": {"items": [{"imageId": format!("ami-{}", rng.hex(8)), "minCount": 1, "maxCount": rng.below(4) + 1}]},
                    "instanceType": *rng.pick(&["t3.micro", "m5.large", "p4d.24xlarge"]),
                }),
            );
            obj.insert(
                "resources".into(),
                json!([{"ARN": format!("arn:aws:ec2:{region}:{ACCOUNT}:instance/i-{}", rng.hex(17)), "accountId": ACCOUNT, "type": "AWS::EC2::Instance"}]),
            );
        }
        "GetObject" | "PutObject" => {
            let bucket = *rng.pick(&["prod-data", "logs-archive", "Finance-Reports"]);
            let key = *rng.pick(&[
                "reports/2024/q1.csv",
                "C:\\Users\\alice\\notes.txt",
                "data/10.0.0.1.json",
                "ünïcode/файл.txt",
            ]);
            obj.insert("requestParameters".into(), json!({"bucketName": bucket, "key": key, "Host": format!("{bucket}.s3.amazonaws.com")}));
            obj.insert("additionalEventData".into(), json!({"bytesTransferredOut": rng.below(100_000), "bytesTransferredIn": rng.below(100).to_string()}));
        }
        "CreateUser" | "AttachUserPolicy" | "CreateAccessKey" => {
            let target = *rng.pick(&["backdoor", "ci-bot", "\"quoted\" user", ""]);
            obj.insert(
                "requestParameters".into(),
                json!({"userName": target, "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}),
            );
        }
        _ => {
            obj.insert("requestParameters".into(), Value::Null);
        }
    }
    if name != "ConsoleLogin" && rng.chance(15) {
        obj.insert(
            "errorCode".into(),
            json!(*rng.pick(&[
                "AccessDenied",
                "Client.UnauthorizedOperation",
                "ThrottlingException"
            ])),
        );
        obj.insert("errorMessage".into(), json!(format!("User: arn:aws:iam::{ACCOUNT}:user/{user} is not authorized to perform: {source}:{name}")));
    }
    event
}

/// Generates the sample files.
pub fn generate(options: &SampleOptions) -> Vec<SampleFile> {
    let mut rng = Rng(options.seed);
    let span_ms = i64::from(options.hours) * 3_600_000;
    let start = options.end - Duration::milliseconds(span_ms);
    let time_at = |rng: &mut Rng| {
        start + Duration::milliseconds((rng.next() % (span_ms as u64 - 60_000)) as i64)
    };
    let mut files = Vec::new();

    // CloudTrail: one object per region per 5-minute slot that has events.
    let mut events: Vec<(DateTime<Utc>, Value)> = (0..options.cloudtrail_events)
        .map(|_| {
            let t = time_at(&mut rng);
            let e = cloudtrail_event(&mut rng, t);
            (t, e)
        })
        .collect();
    events.sort_by_key(|(t, _)| *t);
    let mut slots: std::collections::BTreeMap<(i64, String), Vec<String>> = Default::default();
    for (t, e) in &events {
        let slot = t.timestamp() / 300 * 300;
        let region = e["awsRegion"].as_str().unwrap_or("us-east-1").to_string();
        slots
            .entry((slot, region))
            .or_default()
            .push(serde_json::to_string(e).expect("json"));
    }
    for ((slot, region), records) in slots {
        let t = DateTime::from_timestamp(slot, 0).expect("slot time");
        let name = format!(
            "cloudtrail/AWSLogs/{ACCOUNT}/CloudTrail/{region}/{}/{ACCOUNT}_CloudTrail_{region}_{}_{}.json.gz",
            t.format("%Y/%m/%d"),
            t.format("%Y%m%dT%H%MZ"),
            rng.hex(16)
        );
        let body = format!("{{\"Records\":[{}]}}", records.join(","));
        files.push(SampleFile {
            path: name,
            bytes: gzip(body.as_bytes()),
            records,
        });
    }

    // VPC flow logs: text lines, time only in the object name and the
    // epoch fields (which glaux does not parse), one object per hour.
    let mut flow: std::collections::BTreeMap<i64, Vec<String>> = Default::default();
    for _ in 0..options.flow_lines {
        let t = time_at(&mut rng);
        let src = *rng.pick(&[
            "10.0.0.1",
            "10.0.0.11",
            "110.0.0.119",
            "172.31.5.9",
            "fe80::1",
        ]);
        let dst = *rng.pick(&["10.0.1.20", "203.0.113.7", "8.8.8.8"]);
        let action = if rng.chance(80) { "ACCEPT" } else { "REJECT" };
        let line = format!(
            "2 {ACCOUNT} eni-{} {src} {dst} {} {} 6 {} {} {} {} {action} OK",
            rng.hex(8),
            rng.pick(&[22, 443, 3389, 8080]),
            rng.below(60000) + 1024,
            rng.below(50) + 1,
            rng.below(90000) + 40,
            t.timestamp(),
            t.timestamp() + 60
        );
        flow.entry(t.timestamp() / 3600 * 3600)
            .or_default()
            .push(line);
    }
    for (hour, lines) in flow {
        let t = DateTime::from_timestamp(hour, 0).expect("hour");
        let name = format!(
            "vpcflow/AWSLogs/{ACCOUNT}/vpcflowlogs/us-east-1/{}/{ACCOUNT}_vpcflowlogs_us-east-1_fl-0123_{}_{}.log.gz",
            t.format("%Y/%m/%d"),
            t.format("%Y%m%dT%H%MZ"),
            rng.hex(8)
        );
        let mut body = String::from(
            "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n",
        );
        body.push_str(&lines.join("\n"));
        body.push('\n');
        let mut records = vec!["version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status".to_string()];
        records.extend(lines);
        files.push(SampleFile {
            path: name,
            bytes: gzip(body.as_bytes()),
            records,
        });
    }

    // Application NDJSON: epoch-millis `ts`, some malformed lines.
    let mut app: Vec<(DateTime<Utc>, String)> = Vec::new();
    for i in 0..options.app_lines {
        let t = time_at(&mut rng);
        let line = match i % 17 {
            5 => format!(
                "{{\"ts\": {}, \"level\": \"error\", \"msg\": \"truncated",
                t.timestamp_millis()
            ),
            11 => format!(
                "{} plain text from a misconfigured logger: Failed password for root from 10.0.0.1 port 22",
                rfc3339(t)
            ),
            _ => {
                let user = *rng.pick(USERS);
                let ip = *rng.pick(IPS);
                let v = json!({
                    "ts": t.timestamp_millis(),
                    "level": *rng.pick(&["info", "INFO", "warn", "error"]),
                    "msg": *rng.pick(&["Failed password for root", "login ok", "session opened", "Größe überschritten", "it's \"quoted\""]),
                    "user": user,
                    "client": {"ip": ip, "port": rng.below(65535)},
                    "tags": ["auth", *rng.pick(&["web", "API", ""])],
                    "latency_ms": if rng.chance(50) { json!(rng.below(1000)) } else { json!(rng.below(1000).to_string()) },
                });
                serde_json::to_string(&v).expect("json")
            }
        };
        app.push((t, line));
    }
    app.sort_by_key(|(t, _)| *t);
    let records: Vec<String> = app.into_iter().map(|(_, l)| l).collect();
    let mut body = records.join("\n");
    body.push('\n');
    files.push(SampleFile {
        path: "app/auth-service.ndjson".into(),
        bytes: body.into_bytes(),
        records,
    });
    files
}

/// Writes the files under `dir`, creating directories as needed.
pub fn write_to(dir: &Path, files: &[SampleFile]) -> std::io::Result<()> {
    for f in files {
        let path = dir.join(&f.path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(path, &f.bytes)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic() {
        let end = DateTime::parse_from_rfc3339("2024-05-01T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let a = generate(&SampleOptions::small(end));
        let b = generate(&SampleOptions::small(end));
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(x.path, y.path);
            assert_eq!(x.bytes, y.bytes);
        }
        let events: usize = a
            .iter()
            .filter(|f| f.path.starts_with("cloudtrail/"))
            .map(|f| f.records.len())
            .sum();
        assert_eq!(events, 400);
    }
}
