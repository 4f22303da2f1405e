//! A row's context menu (open, open its folder, copy the path, exclude by name, folder or
//! extension, compare the two files) and the two-file comparison it opens: a line diff for
//! text, the first differing byte for anything else.

use std::io::Read;
use std::path::{Path, PathBuf};

use egui::RichText;
use similar::{ChangeTag, TextDiff};

use super::{Dialog, FcsApp};
use crate::kinds::Kind;
use crate::model::Pane;
use engine::tree::EntryKind;

/// Files up to this size are read whole for a text diff.
const TEXT_LIMIT: u64 = 4 << 20;
/// Diff lines shown (the rest counted).
const DIFF_LINES: usize = 2000;

/// What a context-menu click asked for.
#[derive(Debug, Clone)]
pub(super) enum RowCommand {
    Open(PathBuf),
    OpenFolder(PathBuf),
    CopyPath(PathBuf),
    /// An exclude pattern (a name, a folder's path, `*.ext`) for the next compares.
    Exclude(String),
    CompareFiles(PathBuf),
}

/// The comparison of one file on both sides.
#[derive(Debug)]
pub(super) struct FileDiff {
    rel: PathBuf,
    body: DiffBody,
}

#[derive(Debug)]
enum DiffBody {
    /// Changed lines with context: (tag, left line number, right line number, text).
    Text {
        lines: Vec<(ChangeTag, Option<usize>, Option<usize>, String)>,
        more: usize,
    },
    Binary {
        sizes: [u64; 2],
        /// The first offset where the bytes differ (`None`: the same bytes).
        first: Option<u64>,
    },
    Error(String),
}

/// Draws the menu for row `i` of `pane`; the chosen command, if any.
pub(super) fn row_menu(
    ui: &mut egui::Ui,
    app_tree: &crate::model::Tree,
    i: usize,
    pane: Pane,
) -> Option<RowCommand> {
    let r = &app_tree.rows[i];
    let root = match pane {
        Pane::Left => &app_tree.left_root,
        Pane::Right => &app_tree.right_root,
    };
    let remote = app_tree.remote(pane);
    let path = if remote {
        // A URL takes `/` on every system.
        let rel = r.rel.to_string_lossy().replace('\\', "/");
        let root = root.to_string_lossy();
        PathBuf::from(if rel.is_empty() {
            root.into_owned()
        } else {
            format!("{}/{rel}", root.trim_end_matches('/'))
        })
    } else {
        root.join(&r.rel)
    };
    let mut cmd = None;
    let exists = r.side(pane).is_some();
    const ON_SERVER: &str = "A remote item is not opened from here";
    if ui
        .add_enabled(exists && !remote, egui::Button::new("Open"))
        .on_hover_text("Open with the program your system uses for it")
        .on_disabled_hover_text(if remote {
            ON_SERVER
        } else {
            "Not on this side"
        })
        .clicked()
    {
        cmd = Some(RowCommand::Open(path.clone()));
    }
    if ui
        .add_enabled(!remote, egui::Button::new("Open containing folder"))
        .on_disabled_hover_text(ON_SERVER)
        .clicked()
    {
        cmd = Some(RowCommand::OpenFolder(
            path.parent().map_or(path.clone(), Path::to_path_buf),
        ));
    }
    if ui.button("Copy path").clicked() {
        cmd = Some(RowCommand::CopyPath(path.clone()));
    }
    if i > 0 {
        ui.separator();
        let name = r.name.clone();
        if ui
            .button(format!("Exclude '{name}'"))
            .on_hover_text("Leave every item of this name out of the next compares")
            .clicked()
        {
            cmd = Some(RowCommand::Exclude(name.clone()));
        }
        let rel = r.rel.to_string_lossy().replace('\\', "/");
        if r.is_dir() {
            // A pattern with a `/` matches the whole path: only this folder, not its namesakes
            // elsewhere (a top-level folder's path is its name, offered above).
            if rel.contains('/')
                && ui
                    .button(format!("Exclude the folder {rel}"))
                    .on_hover_text("Leave this folder (only this one) out of the next compares")
                    .clicked()
            {
                cmd = Some(RowCommand::Exclude(rel));
            }
        } else if let Some(ext) = Path::new(&name).extension() {
            let ext = ext.to_string_lossy();
            if ui.button(format!("Exclude *.{ext}")).clicked() {
                cmd = Some(RowCommand::Exclude(format!("*.{ext}")));
            }
        }
    }
    let both_files = [&r.left, &r.right]
        .iter()
        .all(|s| s.as_ref().is_some_and(|s| s.kind == EntryKind::File));
    if both_files && !app_tree.remote_right {
        ui.separator();
        if ui
            .button("Compare these two files")
            .on_hover_text("Text: the lines that differ; other files: the first differing byte")
            .clicked()
        {
            cmd = Some(RowCommand::CompareFiles(r.rel.clone()));
        }
    }
    if cmd.is_some() {
        ui.close();
    }
    cmd
}

/// Opens `path` with the desktop's default program (a folder in the file manager).
fn open_with_system(path: &Path) -> std::io::Result<()> {
    use std::process::{Command, Stdio};
    let mut c = if cfg!(windows) {
        // `explorer` opens files with their program and folders in a window of their own.
        let mut c = Command::new("explorer");
        c.arg(path);
        c
    } else if cfg!(target_os = "macos") {
        let mut c = Command::new("open");
        c.arg(path);
        c
    } else {
        let mut c = Command::new("xdg-open");
        c.arg(path);
        c
    };
    c.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map(|_| ())
}

impl FcsApp {
    pub(super) fn run_row_command(&mut self, ctx: &egui::Context, cmd: RowCommand) {
        match cmd {
            RowCommand::Open(p) | RowCommand::OpenFolder(p) => {
                if let Err(e) = open_with_system(&p) {
                    self.set_status(format!(
                        "Cannot open '{}': {e} (is a desktop's opener installed?)",
                        p.display()
                    ));
                }
            }
            RowCommand::CopyPath(p) => {
                ctx.copy_text(p.display().to_string());
                self.set_status(format!("Copied: {}", p.display()));
            }
            RowCommand::Exclude(pattern) => {
                let mut parts: Vec<&str> = self
                    .prefs
                    .exclude
                    .split(';')
                    .map(str::trim)
                    .filter(|p| !p.is_empty())
                    .collect();
                if !parts.contains(&pattern.as_str()) {
                    parts.push(&pattern);
                }
                self.prefs.exclude = parts.join("; ");
                self.set_status(format!("Excluded {pattern}: comparing again …"));
                self.start_compare();
            }
            RowCommand::CompareFiles(rel) => {
                let body = diff_files(
                    &self.tree.left_root.join(&rel),
                    &self.tree.right_root.join(&rel),
                );
                self.dialog = Dialog::FileDiff(Box::new(FileDiff { rel, body }));
            }
        }
    }

    pub(super) fn file_diff_ui(&mut self, ctx: &egui::Context, d: Box<FileDiff>) -> Dialog {
        let mut close = false;
        egui::Modal::new(egui::Id::unique("file-diff")).show(ctx, |ui| {
            ui.set_width((ctx.content_rect().width() - 80.0).clamp(400.0, 1100.0));
            ui.heading(format!("{} — LEFT against RIGHT", d.rel.display()));
            match &d.body {
                DiffBody::Error(e) => {
                    ui.label(e);
                }
                DiffBody::Binary { sizes, first } => {
                    ui.label(format!(
                        "Not text: compared byte by byte. LEFT {} bytes, RIGHT {} bytes.",
                        sizes[0], sizes[1]
                    ));
                    ui.label(match first {
                        Some(o) => format!("The first difference is at byte {o} (0x{o:x})."),
                        None => "The bytes are the same.".into(),
                    });
                }
                DiffBody::Text { lines, more } => {
                    if lines.is_empty() {
                        ui.label("The lines are the same.");
                    }
                    egui::ScrollArea::both().max_height(480.0).show(ui, |ui| {
                        for (tag, l, r, text) in lines {
                            let n = |v: &Option<usize>| {
                                v.map_or(String::new(), |v| (v + 1).to_string())
                            };
                            let (sign, color) = match tag {
                                ChangeTag::Delete => ("-", Some(Kind::TypeConflict.color())),
                                ChangeTag::Insert => ("+", Some(Kind::LeftOnly.color())),
                                ChangeTag::Equal => (" ", None),
                            };
                            let mut t = RichText::new(format!(
                                "{:>6} {:>6} {sign} {}",
                                n(l),
                                n(r),
                                text.trim_end_matches(['\n', '\r'])
                            ))
                            .monospace();
                            if let Some(c) = color {
                                t = t.color(c);
                            }
                            ui.label(t);
                        }
                        if *more > 0 {
                            ui.label(format!("… and {more} more lines"));
                        }
                    });
                    ui.label(
                        RichText::new(
                            "- only on the LEFT   + only on the RIGHT (line numbers LEFT, RIGHT)",
                        )
                        .weak(),
                    );
                }
            }
            close = ui.button("Close").clicked();
        });
        if close {
            Dialog::None
        } else {
            Dialog::FileDiff(d)
        }
    }
}

fn read_small(p: &Path) -> std::io::Result<Option<Vec<u8>>> {
    let f = std::fs::File::open(p)?;
    if f.metadata()?.len() > TEXT_LIMIT {
        return Ok(None);
    }
    let mut v = Vec::new();
    f.take(TEXT_LIMIT + 1).read_to_end(&mut v)?;
    Ok(Some(v))
}

/// The first offset where two files differ, read in blocks.
fn first_difference(a: &Path, b: &Path) -> std::io::Result<([u64; 2], Option<u64>)> {
    let (mut fa, mut fb) = (std::fs::File::open(a)?, std::fs::File::open(b)?);
    let sizes = [fa.metadata()?.len(), fb.metadata()?.len()];
    let (mut ba, mut bb) = (vec![0u8; 1 << 16], vec![0u8; 1 << 16]);
    let mut at = 0u64;
    loop {
        let na = read_full(&mut fa, &mut ba)?;
        let nb = read_full(&mut fb, &mut bb)?;
        let n = na.min(nb);
        if let Some(k) = ba[..n].iter().zip(&bb[..n]).position(|(x, y)| x != y) {
            return Ok((sizes, Some(at + k as u64)));
        }
        if na != nb {
            return Ok((sizes, Some(at + n as u64)));
        }
        if na == 0 {
            return Ok((sizes, None));
        }
        at += n as u64;
    }
}

fn read_full(f: &mut std::fs::File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

fn diff_files(left: &Path, right: &Path) -> DiffBody {
    let text = |p: &Path| -> Result<Option<String>, String> {
        match read_small(p) {
            Ok(Some(v)) => Ok(String::from_utf8(v).ok()),
            Ok(None) => Ok(None),
            Err(e) => Err(format!("Cannot read '{}': {e}", p.display())),
        }
    };
    let (l, r) = match (text(left), text(right)) {
        (Err(e), _) | (_, Err(e)) => return DiffBody::Error(e),
        (Ok(l), Ok(r)) => (l, r),
    };
    let (Some(l), Some(r)) = (l, r) else {
        return match first_difference(left, right) {
            Ok((sizes, first)) => DiffBody::Binary { sizes, first },
            Err(e) => DiffBody::Error(format!("Cannot read the files: {e}")),
        };
    };
    let diff = TextDiff::from_lines(&l, &r);
    let mut lines = Vec::new();
    let mut total = 0;
    for group in diff.grouped_ops(3) {
        for op in group {
            for c in diff.iter_changes(&op) {
                total += 1;
                if lines.len() < DIFF_LINES {
                    lines.push((c.tag(), c.old_index(), c.new_index(), c.value().to_string()));
                }
            }
        }
    }
    DiffBody::Text {
        more: total - lines.len(),
        lines,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_files_diff_by_line_and_others_by_first_byte() {
        let d = tempfile::tempdir().unwrap();
        let (a, b) = (d.path().join("a"), d.path().join("b"));
        std::fs::write(&a, "one\ntwo\nthree\n").unwrap();
        std::fs::write(&b, "one\n2\nthree\n").unwrap();
        let DiffBody::Text { lines, more } = diff_files(&a, &b) else {
            panic!("text expected");
        };
        assert_eq!(more, 0);
        let changed: Vec<(ChangeTag, &str)> = lines
            .iter()
            .filter(|l| l.0 != ChangeTag::Equal)
            .map(|l| (l.0, l.3.as_str()))
            .collect();
        assert_eq!(
            changed,
            [(ChangeTag::Delete, "two\n"), (ChangeTag::Insert, "2\n")]
        );
        std::fs::write(&a, [0u8, 1, 2, 0xff, 4]).unwrap();
        std::fs::write(&b, [0u8, 1, 2, 0xfe]).unwrap();
        let DiffBody::Binary { sizes, first } = diff_files(&a, &b) else {
            panic!("binary expected");
        };
        assert_eq!((sizes, first), ([5, 4], Some(3)));
        std::fs::write(&b, [0u8, 1, 2, 0xff, 4]).unwrap();
        assert!(matches!(
            diff_files(&a, &b),
            DiffBody::Binary { first: None, .. }
        ));
    }
}
