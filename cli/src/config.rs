//! Settings and where each came from: a flag, an environment variable,
//! glaux's config file, or the default. `glaux config` prints the result.
//!
//! Precedence, highest first: command-line flag, `GLAUX_*` environment
//! variable, the config file (`$XDG_CONFIG_HOME/glaux/config.toml`, or
//! `--config`/`GLAUX_CONFIG`), the default. AWS credentials are never
//! glaux settings: they come from the AWS chain (env, profiles, SSO,
//! instance metadata), and so do `region` and `profile` when glaux is not
//! told them.
//!
//! Resolution is a pure function of (flags, environment, file text), so it
//! is tested without touching the process environment.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// Where a value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Flag(&'static str),
    Env(&'static str),
    File(PathBuf),
    Default,
    /// Not set by glaux; the AWS SDK's chain decides at first use.
    AwsChain,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Flag(n) => write!(f, "flag {n}"),
            Origin::Env(n) => write!(f, "env {n}"),
            Origin::File(p) => write!(f, "file {}", p.display()),
            Origin::Default => write!(f, "default"),
            Origin::AwsChain => write!(f, "AWS chain (AWS_* env, ~/.aws/config)"),
        }
    }
}

/// One setting glaux knows.
#[derive(Debug)]
pub struct Key {
    pub name: &'static str,
    pub flag: &'static str,
    pub env: &'static str,
    pub default: Option<&'static str>,
    pub help: &'static str,
}

/// Every setting, in the order `glaux config` prints them.
pub const KEYS: &[Key] = &[
    Key {
        name: "engine",
        flag: "--engine",
        env: "GLAUX_ENGINE",
        default: Some("local"),
        help: "local (embedded DataFusion) or athena",
    },
    Key {
        name: "store",
        flag: "--store",
        env: "GLAUX_STORE",
        default: None,
        help: "the store: a directory or s3://bucket/prefix (default: the data dir's glaux/store)",
    },
    Key {
        name: "database",
        flag: "--database",
        env: "GLAUX_DATABASE",
        default: Some(glaux_compiler::layout::DEFAULT_DATABASE),
        help: "Athena database holding the tables (the local engine uses the same name)",
    },
    Key {
        name: "profile",
        flag: "--profile",
        env: "GLAUX_PROFILE",
        default: None,
        help: "AWS profile (otherwise AWS_PROFILE or `default`)",
    },
    Key {
        name: "region",
        flag: "--region",
        env: "GLAUX_REGION",
        default: None,
        help: "AWS region (otherwise AWS_REGION or the profile's)",
    },
    Key {
        name: "endpoint_url",
        flag: "--endpoint-url",
        env: "GLAUX_ENDPOINT_URL",
        default: None,
        help: "send AWS calls here (VPC endpoint, LocalStack, moto)",
    },
    Key {
        name: "workgroup",
        flag: "--workgroup",
        env: "GLAUX_WORKGROUP",
        default: Some("primary"),
        help: "Athena workgroup",
    },
    Key {
        name: "catalog",
        flag: "--catalog",
        env: "GLAUX_CATALOG",
        default: Some("AwsDataCatalog"),
        help: "Athena data catalog",
    },
    Key {
        name: "output_location",
        flag: "--output-location",
        env: "GLAUX_OUTPUT_LOCATION",
        default: None,
        help: "s3:// prefix for Athena's result files (otherwise the workgroup's)",
    },
    Key {
        name: "reuse_minutes",
        flag: "--reuse-minutes",
        env: "GLAUX_REUSE_MINUTES",
        default: None,
        help: "reuse Athena results of the same SQL up to this many minutes old (1-10080)",
    },
    Key {
        name: "price_per_tb",
        flag: "--price-per-tb",
        env: "GLAUX_PRICE_PER_TB",
        default: Some("5"),
        help: "USD per TB scanned, for the cost in the footer",
    },
    Key {
        name: "max_attempts",
        flag: "--max-attempts",
        env: "GLAUX_MAX_ATTEMPTS",
        default: Some("6"),
        help: "attempts per AWS call; throttling and transient errors are retried with backoff",
    },
];

/// The engine a search runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EngineKind {
    Local,
    Athena,
}

impl std::str::FromStr for EngineKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        <EngineKind as clap::ValueEnum>::from_str(s, true)
            .map_err(|_| format!("unknown engine `{s}`; use local or athena"))
    }
}

impl fmt::Display for EngineKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EngineKind::Local => "local",
            EngineKind::Athena => "athena",
        })
    }
}

/// Every setting's value (as text) and origin.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    values: BTreeMap<&'static str, (Option<String>, Origin)>,
    /// The config file that was read, if any.
    pub file: Option<PathBuf>,
}

/// A bad setting: which, from where, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what}: {why}")]
pub struct ConfigError {
    pub what: String,
    pub why: String,
}

/// The default config file: `$XDG_CONFIG_HOME/glaux/config.toml`, else
/// `~/.config/glaux/config.toml` (XDG on every platform, as CLI tools do).
pub fn default_file(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    let base = env("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| dirs::home_dir().map(|h| h.join(".config")))?;
    Some(base.join("glaux").join("config.toml"))
}

/// Resolves every setting. `flags` maps key names to command-line values;
/// `file` is the config file's path and text (`None`: no file).
pub fn resolve(
    flags: &BTreeMap<&'static str, String>,
    env: &dyn Fn(&str) -> Option<String>,
    file: Option<(&Path, &str)>,
) -> Result<Settings, ConfigError> {
    let file_values: BTreeMap<String, String> = match file {
        Some((path, text)) => parse_file(path, text)?,
        None => BTreeMap::new(),
    };
    let mut values = BTreeMap::new();
    for key in KEYS {
        let (value, origin) = if let Some(v) = flags.get(key.name) {
            (Some(v.clone()), Origin::Flag(key.flag))
        } else if let Some(v) = env(key.env).filter(|v| !v.is_empty()) {
            (Some(v), Origin::Env(key.env))
        } else if let Some(v) = file_values.get(key.name) {
            (
                Some(v.clone()),
                Origin::File(file.map(|f| f.0.to_path_buf()).unwrap_or_default()),
            )
        } else if let Some(d) = key.default {
            (Some(d.to_string()), Origin::Default)
        } else if matches!(key.name, "region" | "profile") {
            let aws = if key.name == "region" {
                env("AWS_REGION").or_else(|| env("AWS_DEFAULT_REGION"))
            } else {
                env("AWS_PROFILE")
            };
            (aws, Origin::AwsChain)
        } else {
            (None, Origin::Default)
        };
        values.insert(key.name, (value, origin));
    }
    let settings = Settings {
        values,
        file: file.map(|f| f.0.to_path_buf()),
    };
    settings.check()?;
    Ok(settings)
}

/// Reads the config file: a flat TOML table of the keys above.
fn parse_file(path: &Path, text: &str) -> Result<BTreeMap<String, String>, ConfigError> {
    let what = || format!("config file {}", path.display());
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| ConfigError {
        what: what(),
        why: e.message().to_string(),
    })?;
    let mut out = BTreeMap::new();
    for (k, v) in table {
        if !KEYS.iter().any(|key| key.name == k) {
            let known: Vec<&str> = KEYS.iter().map(|k| k.name).collect();
            return Err(ConfigError {
                what: what(),
                why: format!("unknown key `{k}`; known keys: {}", known.join(", ")),
            });
        }
        let text = match v {
            toml::Value::String(s) => s,
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Float(f) => f.to_string(),
            other => {
                return Err(ConfigError {
                    what: what(),
                    why: format!(
                        "`{k}` must be a string or a number, not {}",
                        other.type_str()
                    ),
                });
            }
        };
        out.insert(k, text);
    }
    Ok(out)
}

impl Settings {
    /// A setting's text, if set.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).and_then(|(v, _)| v.as_deref())
    }

    /// Where a setting came from.
    pub fn origin(&self, name: &str) -> Option<&Origin> {
        self.values.get(name).map(|(_, o)| o)
    }

    /// Sets a value from inside glaux (`\engine athena` in the REPL).
    pub fn set(&mut self, name: &'static str, value: String, origin: Origin) {
        self.values.insert(name, (Some(value), origin));
    }

    fn error(&self, name: &str, why: String) -> ConfigError {
        let origin = self
            .origin(name)
            .map(|o| format!(" (from {o})"))
            .unwrap_or_default();
        ConfigError {
            what: format!("setting `{name}`{origin}"),
            why,
        }
    }

    /// Checks every typed value parses.
    fn check(&self) -> Result<(), ConfigError> {
        self.engine()?;
        self.price_per_tb()?;
        self.max_attempts()?;
        self.reuse_minutes()?;
        if let Some(url) = self.get("endpoint_url")
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return Err(self.error(
                "endpoint_url",
                format!("`{url}` must start with http:// or https://"),
            ));
        }
        if let Some(loc) = self.get("output_location")
            && !loc.starts_with("s3://")
        {
            return Err(self.error(
                "output_location",
                format!("`{loc}` must be an s3:// location"),
            ));
        }
        Ok(())
    }

    pub fn engine(&self) -> Result<EngineKind, ConfigError> {
        self.get("engine")
            .unwrap_or("local")
            .parse()
            .map_err(|e| self.error("engine", e))
    }

    pub fn price_per_tb(&self) -> Result<f64, ConfigError> {
        let v = self.get("price_per_tb").unwrap_or("5");
        match v.parse::<f64>() {
            Ok(p) if p.is_finite() && p >= 0.0 => Ok(p),
            _ => Err(self.error(
                "price_per_tb",
                format!("`{v}` is not a price (a number ≥ 0)"),
            )),
        }
    }

    pub fn max_attempts(&self) -> Result<u32, ConfigError> {
        let v = self.get("max_attempts").unwrap_or("6");
        match v.parse::<u32>() {
            Ok(n) if (1..=20).contains(&n) => Ok(n),
            _ => Err(self.error(
                "max_attempts",
                format!("`{v}` is not a number from 1 to 20"),
            )),
        }
    }

    pub fn reuse_minutes(&self) -> Result<Option<i32>, ConfigError> {
        let Some(v) = self.get("reuse_minutes") else {
            return Ok(None);
        };
        match v.parse::<i32>() {
            Ok(0) => Ok(None),
            Ok(n) if (1..=10_080).contains(&n) => Ok(Some(n)),
            _ => Err(self.error(
                "reuse_minutes",
                format!("`{v}` is not a number of minutes from 0 (off) to 10080 (7 days)"),
            )),
        }
    }

    /// The AWS settings glaux passes to the SDK.
    pub fn aws(&self) -> glaux_aws::AwsSettings {
        let own = |k: &str| match self.origin(k) {
            Some(Origin::AwsChain) | None => None,
            _ => self.get(k).map(str::to_string),
        };
        glaux_aws::AwsSettings {
            profile: own("profile"),
            region: own("region"),
            endpoint_url: self.get("endpoint_url").map(str::to_string),
            max_attempts: self.max_attempts().ok(),
        }
    }

    /// The Athena settings.
    pub fn athena(&self) -> glaux_athena_engine::AthenaSettings {
        let d = glaux_athena_engine::AthenaSettings::default();
        glaux_athena_engine::AthenaSettings {
            database: self.get("database").unwrap_or(&d.database).to_string(),
            catalog: self.get("catalog").unwrap_or(&d.catalog).to_string(),
            workgroup: self.get("workgroup").unwrap_or(&d.workgroup).to_string(),
            output_location: self.get("output_location").map(str::to_string),
            reuse_minutes: self.reuse_minutes().ok().flatten(),
            resubmit: d.resubmit,
        }
    }
}

impl fmt::Display for Settings {
    /// `key = value    # origin`, TOML-shaped so it can seed a config file.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.file {
            Some(p) => writeln!(f, "# config file: {}", p.display())?,
            None => writeln!(f, "# config file: none")?,
        }
        let rendered: Vec<(String, String)> = KEYS
            .iter()
            .map(|k| {
                let (v, o) = &self.values[k.name];
                let line = match (v, o) {
                    // Values the AWS chain supplies are shown, commented
                    // out: pasted into a config file they would pin what
                    // AWS_REGION or the profile should keep deciding.
                    (Some(v), Origin::AwsChain) => format!("# {} = {}", k.name, toml_string(v)),
                    (None, Origin::AwsChain) => {
                        format!("# {} (not set here: the AWS chain decides)", k.name)
                    }
                    (Some(v), _) => format!("{} = {}", k.name, toml_string(v)),
                    (None, _) => format!("# {} (not set)", k.name),
                };
                (line, o.to_string())
            })
            .collect();
        let w = rendered
            .iter()
            .map(|(l, _)| l.chars().count())
            .max()
            .unwrap_or(0);
        for (line, origin) in rendered {
            writeln!(f, "{line:w$}  # {origin}")?;
        }
        Ok(())
    }
}

/// A TOML basic string: quotes, backslashes and control characters escaped.
fn toml_string(v: &str) -> String {
    let mut out = String::from("\"");
    for c in v.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn precedence_is_flag_env_file_default() {
        let file = Path::new("/cfg/config.toml");
        let text = "engine = \"athena\"\nworkgroup = \"wg-file\"\nregion = \"eu-west-1\"\nprice_per_tb = 6.25\n";
        let mut flags = BTreeMap::new();
        flags.insert("workgroup", "wg-flag".to_string());
        let s = resolve(
            &flags,
            &env(&[("GLAUX_ENGINE", "local"), ("AWS_REGION", "us-east-2")]),
            Some((file, text)),
        )
        .unwrap();
        assert_eq!(s.get("workgroup"), Some("wg-flag"));
        assert_eq!(s.origin("workgroup"), Some(&Origin::Flag("--workgroup")));
        assert_eq!(s.engine().unwrap(), EngineKind::Local);
        assert_eq!(s.origin("engine"), Some(&Origin::Env("GLAUX_ENGINE")));
        // glaux's file names a region: it wins over the AWS chain's.
        assert_eq!(s.get("region"), Some("eu-west-1"));
        assert_eq!(s.origin("region"), Some(&Origin::File(file.to_path_buf())));
        assert_eq!(s.price_per_tb().unwrap(), 6.25);
        assert_eq!(s.get("catalog"), Some("AwsDataCatalog"));
        assert_eq!(s.origin("catalog"), Some(&Origin::Default));
        assert_eq!(s.aws().region.as_deref(), Some("eu-west-1"));
    }

    #[test]
    fn aws_chain_values_are_shown_but_left_to_the_sdk() {
        let s = resolve(&BTreeMap::new(), &env(&[("AWS_REGION", "us-east-2")]), None).unwrap();
        assert_eq!(s.get("region"), Some("us-east-2"));
        assert_eq!(s.origin("region"), Some(&Origin::AwsChain));
        assert_eq!(s.aws().region, None);
        assert_eq!(s.aws().profile, None);
    }

    #[test]
    fn bad_values_name_the_setting_and_its_origin() {
        let e = resolve(
            &BTreeMap::new(),
            &env(&[("GLAUX_ENGINE", "bigquery")]),
            None,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "setting `engine` (from env GLAUX_ENGINE): unknown engine `bigquery`; use local or athena"
        );
        let file = Path::new("/c.toml");
        let e = resolve(
            &BTreeMap::new(),
            &env(&[]),
            Some((file, "engin = \"athena\"")),
        )
        .unwrap_err();
        assert!(
            e.to_string().starts_with(
                "config file /c.toml: unknown key `engin`; known keys: engine, store,"
            ),
            "{e}"
        );
        let e = resolve(&BTreeMap::new(), &env(&[]), Some((file, "engine = ["))).unwrap_err();
        assert!(e.to_string().starts_with("config file /c.toml: "), "{e}");
        let e = resolve(&BTreeMap::new(), &env(&[]), Some((file, "engine = [1]"))).unwrap_err();
        assert_eq!(
            e.to_string(),
            "config file /c.toml: `engine` must be a string or a number, not array"
        );
        for (k, v) in [
            ("price_per_tb", "-1"),
            ("max_attempts", "0"),
            ("reuse_minutes", "20000"),
            ("endpoint_url", "localhost:5000"),
            ("output_location", "/tmp/results"),
        ] {
            let mut flags = BTreeMap::new();
            let key = KEYS.iter().find(|x| x.name == k).unwrap().name;
            flags.insert(key, v.to_string());
            assert!(resolve(&flags, &env(&[]), None).is_err(), "{k} = {v}");
        }
    }

    #[test]
    fn toml_strings_round_trip() {
        for v in ["plain", "with \"quotes\"", "back\\slash", "tab\there", "é"] {
            let doc = format!("x = {}", toml_string(v));
            let t: toml::Table = doc.parse().unwrap();
            assert_eq!(t["x"].as_str(), Some(v), "{doc}");
        }
    }

    #[test]
    fn printed_settings_are_toml_with_origins() {
        let mut flags = BTreeMap::new();
        flags.insert("engine", "athena".to_string());
        let s = resolve(&flags, &env(&[]), None).unwrap();
        let text = s.to_string();
        assert!(text.starts_with("# config file: none\n"), "{text}");
        assert!(text.contains("engine = \"athena\""), "{text}");
        assert!(text.contains("# flag --engine"), "{text}");
        assert!(text.contains("# output_location (not set)"), "{text}");
        // What is printed (minus comments) reads back as a config file.
        let body: String = text
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| l.split("  #").next().unwrap().trim().to_string() + "\n")
            .collect();
        let again = resolve(&BTreeMap::new(), &env(&[]), Some((Path::new("/x"), &body))).unwrap();
        assert_eq!(again.get("engine"), Some("athena"));
    }
}
