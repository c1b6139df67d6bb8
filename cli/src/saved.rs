//! Saved searches: one file per search, `<data dir>/glaux/saved/NAME.glaux`
//! holding the query text, so `\run NAME` in the REPL and
//! `glaux query -f …/NAME.glaux` in a script run the same thing, and a
//! team can keep them in git.

use std::io;
use std::path::{Path, PathBuf};

/// The default directory: `$XDG_DATA_HOME/glaux/saved` (or the platform's
/// data directory).
pub fn default_dir() -> Option<PathBuf> {
    dirs::data_dir().map(|d| d.join("glaux").join("saved"))
}

/// A saved search's name: 1-64 letters, digits, `-`, `_`, `.`, not
/// starting with `.` (so it is a plain file name on every platform).
pub fn check_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.chars().count() <= 64
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{name}` is not a usable name: use up to 64 letters, digits, `-`, `_` or `.`, not starting with `.`"
        ))
    }
}

fn path_of(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.glaux"))
}

/// Saves `query` as `name`, replacing an earlier one (atomically).
pub fn save(dir: &Path, name: &str, query: &str) -> io::Result<PathBuf> {
    check_name(name).map_err(io::Error::other)?;
    std::fs::create_dir_all(dir)?;
    let path = path_of(dir, name);
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    std::fs::write(&tmp, format!("{}\n", query.trim_end()))?;
    std::fs::rename(&tmp, &path)?;
    Ok(path)
}

/// The query saved as `name`.
pub fn load(dir: &Path, name: &str) -> io::Result<String> {
    check_name(name).map_err(io::Error::other)?;
    match std::fs::read_to_string(path_of(dir, name)) {
        Ok(text) => crate::query_text_of(&text).map_err(io::Error::other),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("no saved query `{name}` (\\saved lists them)"),
        )),
        Err(e) => Err(e),
    }
}

/// Every saved name, sorted.
pub fn list(dir: &Path) -> io::Result<Vec<String>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut names = Vec::new();
    for e in entries {
        let name = e?.file_name();
        if let Some(n) = name.to_str().and_then(|n| n.strip_suffix(".glaux"))
            && check_name(n).is_ok()
        {
            names.push(n.to_string());
        }
    }
    names.sort();
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_load_list() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("saved");
        assert!(list(&d).unwrap().is_empty());
        save(
            &d,
            "root-logins",
            "userIdentity.type:Root AND eventName:ConsoleLogin",
        )
        .unwrap();
        save(&d, "a.b_c", "x\n").unwrap();
        assert_eq!(list(&d).unwrap(), ["a.b_c", "root-logins"]);
        assert_eq!(
            load(&d, "root-logins").unwrap(),
            "userIdentity.type:Root AND eventName:ConsoleLogin"
        );
        save(&d, "root-logins", "y").unwrap();
        assert_eq!(load(&d, "root-logins").unwrap(), "y");
        assert!(
            load(&d, "nope")
                .unwrap_err()
                .to_string()
                .contains("no saved query `nope`")
        );
        for bad in ["", ".hidden", "a/b", "../x", "sp ace", &"x".repeat(65)] {
            assert!(save(&d, bad, "q").is_err(), "{bad}");
        }
    }
}
