//! Long output through a pager, when stdout is a terminal.
//!
//! Output taller than the terminal goes to `$PAGER` (split on whitespace:
//! `less -R` works), else `less -FRX` (`-F`: quit at once if it fits, `-R`:
//! keep colours, `-X`: leave the text on screen). `PAGER=` (empty) or
//! `PAGER=cat` turns paging off. If the pager cannot start, the text is
//! written directly: paging is a convenience, never a reason to lose output.
//! In a pipe there is no pager at all.

use std::io::Write;
use std::process::{Command, Stdio};

/// The pager command from `$PAGER`; `None` when paging is off.
pub fn pager_command(env_pager: Option<&str>) -> Option<Vec<String>> {
    let spec = env_pager.unwrap_or("less -FRX").trim();
    let parts: Vec<String> = spec.split_whitespace().map(str::to_string).collect();
    match parts.first().map(String::as_str) {
        None | Some("cat") => None,
        Some(_) => Some(parts),
    }
}

/// True when `text` needs a pager on a terminal `height` rows high.
pub fn too_tall(text: &[u8], height: Option<usize>) -> bool {
    match height {
        Some(h) if h > 2 => text.iter().filter(|b| **b == b'\n').count() > h - 2,
        _ => false,
    }
}

/// Shows `text`: through the pager when stdout is a terminal of `height`
/// rows and the text is taller, else written to `out`.
pub fn show(text: &[u8], height: Option<usize>, out: &mut dyn Write) -> std::io::Result<()> {
    if too_tall(text, height)
        && let Some(cmd) = pager_command(std::env::var("PAGER").ok().as_deref())
        && let Ok(mut child) = Command::new(&cmd[0])
            .args(&cmd[1..])
            .stdin(Stdio::piped())
            .spawn()
    {
        if let Some(mut stdin) = child.stdin.take() {
            // The user quitting the pager early closes the pipe: not an error.
            let _ = stdin.write_all(text);
        }
        child.wait()?;
        return Ok(());
    }
    out.write_all(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pager_choice() {
        assert_eq!(pager_command(None).unwrap(), ["less", "-FRX"]);
        assert_eq!(pager_command(Some("most")).unwrap(), ["most"]);
        assert_eq!(pager_command(Some("less -R")).unwrap(), ["less", "-R"]);
        assert_eq!(pager_command(Some("")), None);
        assert_eq!(pager_command(Some("cat")), None);
    }

    #[test]
    fn only_tall_output_on_a_terminal_pages() {
        assert!(!too_tall(b"a\nb\n", Some(24)));
        assert!(too_tall("x\n".repeat(30).as_bytes(), Some(24)));
        assert!(!too_tall("x\n".repeat(30).as_bytes(), None));
        // Written through when not paged.
        let mut out = Vec::new();
        show(b"a\nb\n", Some(24), &mut out).unwrap();
        assert_eq!(out, b"a\nb\n");
    }
}
