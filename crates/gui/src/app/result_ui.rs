//! The result of a copy, sync or delete: a title that matches the outcome, the counts, and every
//! failed item by its real path with the reason in plain words and what to do about it (the
//! stable code in small print, the engine's whole message on expand and in the clipboard).

use std::path::{Path, PathBuf};

use egui::RichText;
use engine::Code;
use engine::tree::FailedItem;

use crate::kinds::Kind;

/// One failed item, in words for the result view.
#[derive(Debug, Clone)]
pub(super) struct Failure {
    pub path: PathBuf,
    pub code: Code,
    /// What happened, without the code in front or the advice behind.
    pub reason: String,
    /// What to do (the code's advice).
    pub todo: &'static str,
    /// The engine's whole message.
    pub full: String,
}

impl Failure {
    pub fn of(e: &FailedItem) -> Failure {
        let todo = e.code.hint();
        let prefix = format!("{}: ", e.code);
        let mut reason = e.message.strip_prefix(&prefix).unwrap_or(&e.message);
        reason = reason.strip_suffix(todo).unwrap_or(reason).trim_end();
        Failure {
            path: PathBuf::from(engine::plain_paths(&e.path.to_string_lossy()).into_owned()),
            code: e.code,
            reason: engine::plain_paths(reason).into_owned(),
            todo,
            full: e.message.clone(),
        }
    }

    /// The failure as the clipboard and the log get it.
    pub fn text(&self) -> String {
        format!(
            "{}\n  {}\n  what to do: {}",
            self.path.display(),
            self.reason,
            self.todo
        )
    }
}

/// `path` relative to `root`, also where one of them carries Windows' `\\?\` form and the
/// other not (the engine's paths against the folders the user typed).
pub(super) fn rel_under(path: &Path, root: &Path) -> Option<PathBuf> {
    if let Ok(rel) = path.strip_prefix(root) {
        return Some(rel.to_path_buf());
    }
    let plain = |p: &Path| PathBuf::from(engine::plain_paths(&p.to_string_lossy()).into_owned());
    plain(path)
        .strip_prefix(plain(root))
        .ok()
        .map(Path::to_path_buf)
}

/// An engine message (`CODE: what happened … advice`) split for people: the code, what
/// happened, and what to do. `None` for a message that does not start with a code.
pub(super) fn plain(message: &str) -> Option<(Code, String, &'static str)> {
    let code = Code::ALL
        .iter()
        .copied()
        .find(|c| message.starts_with(&format!("{}: ", c.as_str())))?;
    let f = Failure::of(&FailedItem {
        path: PathBuf::new(),
        code,
        message: message.to_string(),
    });
    Some((code, f.reason, f.todo))
}

/// A message for the message dialog: plain words, what to do, the code in small print.
pub(super) fn message_ui(ui: &mut egui::Ui, message: &str) {
    match plain(message) {
        Some((code, reason, todo)) => {
            ui.label(reason);
            ui.label(RichText::new(format!("What to do: {todo}")).weak());
            ui.label(RichText::new(code.as_str()).small().weak());
        }
        None => {
            ui.label(message);
        }
    }
}

/// Draws the failures (at most `SHOWN`, the rest counted; all of them go to the clipboard).
pub(super) fn failures_ui(ui: &mut egui::Ui, failures: &[Failure]) {
    const SHOWN: usize = 200;
    if failures.is_empty() {
        return;
    }
    ui.separator();
    ui.label(
        RichText::new(format!(
            "{} could not be done:",
            super::plural(failures.len() as u64, "item")
        ))
        .strong(),
    );
    egui::ScrollArea::vertical()
        .max_height(260.0)
        .show(ui, |ui| {
            for f in failures.iter().take(SHOWN) {
                ui.label(
                    RichText::new(format!("✖ {}", f.path.display()))
                        .color(Kind::TypeConflict.color())
                        .strong(),
                );
                ui.indent(f.full.as_str(), |ui| {
                    ui.label(&f.reason);
                    ui.label(RichText::new(format!("What to do: {}", f.todo)).weak());
                    egui::CollapsingHeader::new(RichText::new(f.code.as_str()).small().weak())
                        .id_salt(("failure", &f.path))
                        .show(ui, |ui| {
                            ui.label(RichText::new(&f.full).small().monospace());
                        });
                });
            }
            if failures.len() > SHOWN {
                ui.label(format!(
                    "… and {} more (all of them are in the clipboard copy and the log)",
                    failures.len() - SHOWN
                ));
            }
        });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_reads_without_the_code_twice_and_with_what_to_do() {
        let e = engine::Error::new(
            Code::CopyNoSpace,
            "/data/photos/a.jpg",
            "the target has 1 MiB free, the file needs 5 MiB",
        );
        let item = FailedItem {
            path: e.path.clone(),
            code: e.code,
            message: e.to_string(),
        };
        let f = Failure::of(&item);
        assert!(
            !f.reason.contains(Code::CopyNoSpace.as_str()),
            "{}",
            f.reason
        );
        assert!(
            f.reason.starts_with("the target has 1 MiB free"),
            "{}",
            f.reason
        );
        assert!(!f.reason.contains(f.todo), "{}", f.reason);
        assert_eq!(f.todo, Code::CopyNoSpace.hint());
        assert!(f.text().contains("/data/photos/a.jpg"));
        let (code, reason, todo) = plain(&item.message).unwrap();
        assert_eq!((code, todo), (Code::CopyNoSpace, Code::CopyNoSpace.hint()));
        assert!(reason.starts_with("the target has"), "{reason}");
        assert!(plain("cannot start a worker thread").is_none());
    }
}
