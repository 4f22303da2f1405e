//! Saved jobs in the window: the folders, mode, compare options and filters as a settings file
//! with a `[job]` table (`engine::tree::SavedJob`), which `fcs sync --config` runs as it is.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use engine::tree::{SavedJob, SavedMode};

use super::folders_ui::{Chooser, Want};
use super::{Dialog, FcsApp, VerifyChoice};
use crate::model::Pane;
use crate::sync::{Mode, Rule};

impl FcsApp {
    /// The job the window shows now.
    pub fn saved_job(&self) -> SavedJob {
        let p = &self.prefs;
        let mut by = vec!["existence"];
        for (on, name) in [
            (p.by_size, "size"),
            (p.by_modified, "modified"),
            (p.by_created, "created"),
            (p.by_content, "content"),
        ] {
            if on {
                by.push(name);
            }
        }
        SavedJob {
            left: PathBuf::from(p.left.trim()),
            right: PathBuf::from(p.right.trim()),
            // Custom rows are chosen by hand and are not saved: the file runs as Update.
            mode: match p.rule.mode {
                Mode::Mirror => SavedMode::Mirror,
                Mode::Update | Mode::Custom => SavedMode::Update,
            },
            reverse: p.rule.from == Pane::Right,
            by: Some(by.join(",")),
            exclude: p
                .exclude
                .split(';')
                .map(str::trim)
                .filter(|e| !e.is_empty())
                .map(String::from)
                .collect(),
            name: Some(p.filter.trim().to_string()).filter(|f| !f.is_empty()),
        }
    }

    /// Shows a saved job: its folders, mode, compare options and filters.
    pub fn load_job(&mut self, job: &SavedJob) {
        let p = &mut self.prefs;
        p.left = job.left.display().to_string();
        p.right = job.right.display().to_string();
        p.rule = Rule {
            mode: if job.mode == SavedMode::Mirror {
                Mode::Mirror
            } else {
                Mode::Update
            },
            from: if job.reverse { Pane::Right } else { Pane::Left },
        };
        if let Some(by) = &job.by {
            let has = |k: &str| by.split(',').any(|b| b.trim() == k || b.trim() == "all");
            p.by_size = has("size");
            p.by_modified = has("modified");
            p.by_created = has("created");
            p.by_content = has("content");
        }
        p.exclude = job.exclude.join("; ");
        p.filter = job.name.clone().unwrap_or_default();
        if job.mode == SavedMode::Plain {
            self.log(
                "the job's mode 'plain' is shown as Update: the window never replaces a newer item without asking",
            );
        }
        self.forget_comparison();
        self.set_status(format!(
            "Job loaded: {} ⬌ {}. Press Compare.",
            job.left.display(),
            job.right.display()
        ));
    }

    /// Opens the job file at `path` (its settings apply too).
    pub(super) fn open_job(&mut self, path: &Path) {
        let job = match SavedJob::read(path) {
            Ok(Some(j)) => j,
            Ok(None) => {
                self.fail(format!(
                    "'{}' has no [job] table: it holds settings only.",
                    path.display()
                ));
                return;
            }
            Err(e) => {
                self.fail(e.to_string());
                return;
            }
        };
        if let Err(e) = self.settings.apply_file(path) {
            self.fail(e.to_string());
            return;
        }
        self.verify_from_settings();
        self.load_job(&job);
    }

    /// The Verify buttons follow the settings (a job file's `verify_policy`).
    pub fn verify_from_settings(&mut self) {
        self.prefs.verify = match self.settings.verify_policy {
            engine::VerifyPolicy::None => VerifyChoice::None,
            engine::VerifyPolicy::LtThreshold => VerifyChoice::BelowThreshold,
            engine::VerifyPolicy::All => VerifyChoice::All,
        };
    }

    /// Saves the current job to `path`.
    pub fn save_job_to(&mut self, path: &Path) {
        let verify = match self.prefs.verify {
            VerifyChoice::None => "none",
            VerifyChoice::BelowThreshold => "lt_threshold",
            VerifyChoice::All => "all",
        };
        match self
            .saved_job()
            .write(path, &[("verify_policy", verify.to_string())])
        {
            Ok(()) => self.set_status(format!(
                "Job saved to {} (run it with: fcs sync --config \"{}\")",
                path.display(),
                path.display()
            )),
            Err(e) => self.fail(e.to_string()),
        }
    }

    /// Where a job is saved when the system has no file dialog: the jobs folder beside the
    /// user's settings file, named after the two folders.
    fn default_job_path(&self) -> Option<PathBuf> {
        let dir = engine::Settings::user_file()?.parent()?.join("jobs");
        let name = |s: &str| {
            Path::new(s.trim())
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "folder".into())
        };
        let file = format!(
            "{}-{}.toml",
            name(&self.prefs.left),
            name(&self.prefs.right)
        )
        .replace(
            |c: char| !c.is_alphanumeric() && c != '-' && c != '.' && c != '_',
            "_",
        );
        Some(dir.join(file))
    }

    /// The Job menu: open and save.
    pub(super) fn job_menu(&mut self, ui: &mut egui::Ui) {
        let busy = self.job.is_some();
        ui.add_enabled_ui(!busy, |ui| {
            ui.menu_button("Job", |ui| {
                if ui
                    .button("Open job…")
                    .on_hover_text(
                        "Load folders, mode, compare options and filters from a job file",
                    )
                    .clicked()
                {
                    ui.close();
                    self.ask_open_job();
                }
                if ui
                    .button("Save job…")
                    .on_hover_text("Save them as a job file that fcs sync --config also runs")
                    .clicked()
                {
                    ui.close();
                    self.ask_save_job();
                }
            });
        });
    }

    fn ask_open_job(&mut self) {
        let start = self
            .default_job_path()
            .and_then(|p| p.parent().map(Path::to_path_buf))
            .filter(|d| d.is_dir())
            .unwrap_or_else(|| PathBuf::from(self.prefs.left.trim()));
        if self.system_dialogs && super::folders_ui::system_dialog_possible() {
            let t = Instant::now();
            if let Some(p) = rfd::FileDialog::new()
                .add_filter("FolderCompareSync job", &["toml"])
                .set_directory(&start)
                .pick_file()
            {
                self.open_job(&p);
                return;
            }
            if t.elapsed() > Duration::from_millis(400) {
                return;
            }
        }
        self.dialog = Dialog::Chooser(Box::new(Chooser::at(Want::JobFile, start)));
    }

    fn ask_save_job(&mut self) {
        let default = self.default_job_path();
        if self.system_dialogs && super::folders_ui::system_dialog_possible() {
            let t = Instant::now();
            let mut d = rfd::FileDialog::new().add_filter("FolderCompareSync job", &["toml"]);
            if let Some(p) = &default {
                if let Some(dir) = p.parent().filter(|d| d.is_dir()) {
                    d = d.set_directory(dir);
                }
                if let Some(n) = p.file_name() {
                    d = d.set_file_name(n.to_string_lossy());
                }
            }
            if let Some(p) = d.save_file() {
                self.save_job_to(&p);
                return;
            }
            if t.elapsed() > Duration::from_millis(400) {
                return;
            }
        }
        // No system dialog: save beside the settings, and say where.
        match default {
            Some(p) => {
                if let Some(dir) = p.parent()
                    && let Err(e) = std::fs::create_dir_all(dir)
                {
                    self.fail(format!("Cannot create '{}': {e}", dir.display()));
                    return;
                }
                self.save_job_to(&p);
            }
            None => self.fail("This system has no settings folder to save the job in.".into()),
        }
    }
}
