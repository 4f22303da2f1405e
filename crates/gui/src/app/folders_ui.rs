//! Choosing the two folders: the path fields, Browse (the system's dialog where there is one,
//! else a built-in chooser — never a silent no-op), folders dropped on either half of the
//! window, recent pairs, and Swap.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use egui::RichText;

use super::{Dialog, FcsApp};
use crate::model::Pane;

/// Pairs kept in the Recent menu.
const RECENT: usize = 10;

/// What the built-in chooser picks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Want {
    /// A folder for one side.
    Folder(Pane),
    /// A saved job (`*.toml`) to open.
    JobFile,
}

/// The built-in folder chooser's state.
#[derive(Debug)]
pub(super) struct Chooser {
    want: Want,
    dir: PathBuf,
    /// The path field (typed or the current folder).
    typed: String,
    subdirs: Vec<String>,
    /// Job files here (when a job file is wanted).
    files: Vec<String>,
    error: Option<String>,
}

impl Chooser {
    pub(super) fn at(want: Want, dir: PathBuf) -> Chooser {
        let mut c = Chooser {
            want,
            typed: dir.display().to_string(),
            dir,
            subdirs: Vec::new(),
            files: Vec::new(),
            error: None,
        };
        c.list();
        c
    }

    fn list(&mut self) {
        self.subdirs.clear();
        self.files.clear();
        self.error = None;
        match std::fs::read_dir(&self.dir) {
            Ok(rd) => {
                for e in rd.flatten() {
                    let name = e.file_name().to_string_lossy().into_owned();
                    // A link to a folder is offered too: it is where the user would go.
                    match std::fs::metadata(e.path()) {
                        Ok(m) if m.is_dir() => self.subdirs.push(name),
                        Ok(_) if self.want == Want::JobFile && name.ends_with(".toml") => {
                            self.files.push(name)
                        }
                        _ => {}
                    }
                }
                let key = |n: &String| (n.starts_with('.'), n.to_lowercase());
                self.subdirs.sort_by_key(key);
                self.files.sort_by_key(key);
            }
            Err(e) => self.error = Some(format!("Cannot list '{}': {e}", self.dir.display())),
        }
    }

    fn go(&mut self, dir: PathBuf) {
        self.dir = dir;
        self.typed = self.dir.display().to_string();
        self.list();
    }
}

/// Where the chooser opens: the field's folder when it exists, else the home folder.
fn start_dir(field: &str) -> PathBuf {
    let p = Path::new(field.trim());
    if !field.trim().is_empty() && p.is_dir() {
        return p.to_path_buf();
    }
    std::env::var_os(if cfg!(windows) { "USERPROFILE" } else { "HOME" })
        .map(PathBuf::from)
        .filter(|p| p.is_dir())
        .unwrap_or_else(|| PathBuf::from(if cfg!(windows) { "C:\\" } else { "/" }))
}

/// Whether the system can show its own folder dialog. On Linux and the BSDs that is the desktop
/// portal over the session bus: without a session bus there is none to ask.
pub(super) fn system_dialog_possible() -> bool {
    cfg!(any(windows, target_os = "macos"))
        || std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some()
}

impl FcsApp {
    /// Whether Browse may try the system's folder dialog (on by default; off, it always uses
    /// the built-in chooser — for tests, and for desktops whose dialog misbehaves).
    pub fn set_system_dialogs(&mut self, on: bool) {
        self.system_dialogs = on;
    }

    fn field(&mut self, pane: Pane) -> &mut String {
        match pane {
            Pane::Left => &mut self.prefs.left,
            Pane::Right => &mut self.prefs.right,
        }
    }

    /// The two folder rows.
    pub(super) fn folders_ui(&mut self, ui: &mut egui::Ui) {
        let busy = self.job.is_some();
        for pane in [Pane::Left, Pane::Right] {
            ui.horizontal(|ui| {
                let label = ui.add_sized(
                    [52.0, 20.0],
                    egui::Label::new(RichText::new(format!("{}:", pane.name())).strong()),
                );
                let width = ui.available_width() - 130.0;
                let hint = match pane {
                    Pane::Left => "LEFT folder: type a path, Browse, or drop a folder on this half",
                    Pane::Right => {
                        "RIGHT folder: a path, Browse, a dropped folder, or s3://bucket/prefix or sftp://user@host/path"
                    }
                };
                let field = ui
                    .add(
                        egui::TextEdit::singleline(self.field(pane))
                            .desired_width(width)
                            .hint_text(hint),
                    )
                    .labelled_by(label.id);
                if pane == Pane::Right {
                    field.on_hover_text(
                        "A folder, or a remote location to copy to: s3://bucket/prefix (S3 and S3-compatible servers) or sftp://user@host/path",
                    );
                }
                if ui
                    .add_enabled(!busy, egui::Button::new(format!("Browse {}…", pane.name())))
                    .on_hover_text("Choose the folder in a dialog")
                    .clicked()
                {
                    self.browse(pane);
                }
            });
        }
    }

    /// Browse: the system's dialog, or the built-in chooser where the system has none (or
    /// its dialog could not open: it returned at once, faster than anyone cancels one).
    pub(super) fn browse(&mut self, pane: Pane) {
        let start = start_dir(self.field(pane));
        if self.system_dialogs && system_dialog_possible() {
            let t = Instant::now();
            if let Some(p) = rfd::FileDialog::new().set_directory(&start).pick_folder() {
                *self.field(pane) = p.display().to_string();
                return;
            }
            if t.elapsed() > Duration::from_millis(400) {
                return; // The user cancelled the system's dialog.
            }
            self.log("the system's folder dialog did not open: using the built-in chooser");
        }
        self.open_chooser(pane, start);
    }

    pub(super) fn open_chooser(&mut self, pane: Pane, dir: PathBuf) {
        self.dialog = Dialog::Chooser(Box::new(Chooser::at(Want::Folder(pane), dir)));
    }

    /// The built-in chooser; returns the dialog to keep showing.
    pub(super) fn chooser_ui(&mut self, ctx: &egui::Context, mut c: Box<Chooser>) -> Dialog {
        let mut done = None;
        let mut go = None;
        let mut picked = None;
        egui::Modal::new(egui::Id::unique("choose-folder")).show(ctx, |ui| {
            ui.set_width(560.0);
            ui.heading(match c.want {
                Want::Folder(pane) => format!("Choose the {} folder", pane.name()),
                Want::JobFile => "Open a saved job".to_string(),
            });
            ui.horizontal(|ui| {
                if ui
                    .add_enabled(c.dir.parent().is_some(), egui::Button::new("⬆ Up"))
                    .on_hover_text("The folder above")
                    .clicked()
                {
                    go = c.dir.parent().map(Path::to_path_buf);
                }
                if ui.button("Home").clicked() {
                    go = Some(start_dir(""));
                }
                let label = ui.label("Path:");
                let r = ui
                    .add(egui::TextEdit::singleline(&mut c.typed).desired_width(320.0))
                    .labelled_by(label.id);
                if (r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)))
                    || ui.button("Go").clicked()
                {
                    go = Some(PathBuf::from(c.typed.trim()));
                }
            });
            if let Some(e) = &c.error {
                ui.label(RichText::new(e).color(crate::kinds::Kind::TypeConflict.color()));
            }
            egui::ScrollArea::vertical()
                .max_height(300.0)
                .auto_shrink([false, true])
                .show(ui, |ui| {
                    if c.subdirs.is_empty() && c.files.is_empty() && c.error.is_none() {
                        ui.label(RichText::new("(nothing to choose inside)").weak());
                    }
                    for name in &c.subdirs {
                        if ui
                            .add(egui::Button::new(format!("📁 {name}")).frame(false))
                            .clicked()
                        {
                            go = Some(c.dir.join(name));
                        }
                    }
                    for name in &c.files {
                        if ui
                            .add(egui::Button::new(name.as_str()).frame(false))
                            .clicked()
                        {
                            picked = Some(c.dir.join(name));
                        }
                    }
                });
            ui.separator();
            ui.horizontal(|ui| {
                if matches!(c.want, Want::Folder(_))
                    && ui
                        .add_enabled(
                            c.error.is_none(),
                            egui::Button::new(RichText::new("Choose this folder").strong()),
                        )
                        .clicked()
                {
                    done = Some(true);
                }
                if ui.button("Cancel").clicked() {
                    done = Some(false);
                }
            });
        });
        if let Some(d) = go {
            c.go(d);
        }
        if let Some(file) = picked {
            self.dialog = Dialog::None;
            self.open_job(&file);
            return std::mem::replace(&mut self.dialog, Dialog::None);
        }
        match done {
            Some(true) => {
                if let Want::Folder(pane) = c.want {
                    *self.field(pane) = c.dir.display().to_string();
                }
                Dialog::None
            }
            Some(false) => Dialog::None,
            None => Dialog::Chooser(c),
        }
    }

    /// Folders dropped on the window go to the side they were dropped on (a dropped file
    /// names its folder); while something is dragged over, the halves say so.
    pub(super) fn drops(&mut self, ctx: &egui::Context) {
        let (dropped, hovering, pos) = ctx.input(|i| {
            (
                i.raw.dropped_files.clone(),
                !i.raw.hovered_files.is_empty(),
                i.pointer.latest_pos(),
            )
        });
        let rect = ctx.content_rect();
        let pane_at = |x: f32| {
            if x < rect.center().x {
                Pane::Left
            } else {
                Pane::Right
            }
        };
        if hovering {
            let painter = ctx.layer_painter(egui::LayerId::new(
                egui::Order::Foreground,
                egui::Id::unique("drop-hint"),
            ));
            for (pane, half) in [
                (Pane::Left, rect.with_max_x(rect.center().x)),
                (Pane::Right, rect.with_min_x(rect.center().x)),
            ] {
                let on = pos.is_some_and(|p| pane_at(p.x) == pane);
                painter.rect_filled(
                    half.shrink(8.0),
                    8.0,
                    egui::Color32::from_black_alpha(if on { 170 } else { 90 }),
                );
                painter.text(
                    half.center(),
                    egui::Align2::CENTER_CENTER,
                    format!("Drop here for {}", pane.name()),
                    egui::FontId::proportional(24.0),
                    egui::Color32::WHITE,
                );
            }
        }
        if self.job.is_some() {
            return;
        }
        for f in dropped {
            let p = f.path().to_path_buf();
            let dir = if p.is_dir() {
                p
            } else {
                match p.parent() {
                    Some(d) => d.to_path_buf(),
                    None => continue,
                }
            };
            let pane = pos.map_or(Pane::Left, |p| pane_at(p.x));
            *self.field(pane) = dir.display().to_string();
            self.set_status(format!("{}: {}", pane.name(), dir.display()));
        }
    }

    /// Remembers the pair just compared (most recent first, no duplicates).
    pub(super) fn remember_pair(&mut self, pair: (String, String)) {
        self.prefs.recent.retain(|p| *p != pair);
        self.prefs.recent.insert(0, pair);
        self.prefs.recent.truncate(RECENT);
    }

    /// The Recent menu: a click puts both folders back.
    pub(super) fn recent_menu(&mut self, ui: &mut egui::Ui) {
        let busy = self.job.is_some();
        ui.add_enabled_ui(!busy && !self.prefs.recent.is_empty(), |ui| {
            ui.menu_button("Recent", |ui| {
                let mut pick = None;
                for (l, r) in &self.prefs.recent {
                    if ui.button(format!("{l}  ⬌  {r}")).clicked() {
                        pick = Some((l.clone(), r.clone()));
                        ui.close();
                    }
                }
                if let Some((l, r)) = pick {
                    self.prefs.left = l;
                    self.prefs.right = r;
                }
            })
            .response
            .on_hover_text("Folder pairs compared before");
        });
    }
}
