//! The bars around the grid: folder fields, compare options, the sync and view filter bars, each
//! side's own toolbar above its tree, and the summary, status line and log below.

use egui::{Color32, RichText};
use engine::format_bytes;

use super::{FcsApp, VerifyChoice, plural};
use crate::kinds::Kind;
use crate::model::Pane;
use crate::worker::JobKind;

impl FcsApp {
    pub(super) fn top_ui(&mut self, ui: &mut egui::Ui) {
        let busy = self.job.is_some();
        self.folders_ui(ui);
        ui.horizontal_wrapped(|ui| {
            ui.label("Compare by:");
            ui.add_enabled(false, egui::Checkbox::new(&mut true, "Existence"))
                .on_disabled_hover_text("Always compared: an item on one side only differs");
            ui.checkbox(&mut self.prefs.by_size, "Size")
                .on_hover_text("Files of different sizes differ");
            ui.checkbox(&mut self.prefs.by_created, "Date Created")
                .on_hover_text("Items created at different times differ (and the column shows)");
            let tol = self.settings.timestamp_tolerance;
            ui.checkbox(
                &mut self.prefs.by_modified,
                format!("Date Modified (±{:?})", tol),
            )
            .on_hover_text(
                "Items modified at different times differ; closer than the tolerance counts as the same",
            );
            ui.checkbox(&mut self.prefs.by_content, "Content (BLAKE3)")
                .on_hover_text("Read both files and compare their BLAKE3 hashes (slow, certain)");
            ui.separator();
            let dry_color = if self.prefs.dry_run {
                Color32::from_rgb(220, 140, 0)
            } else {
                ui.visuals().text_color()
            };
            ui.checkbox(
                &mut self.prefs.dry_run,
                RichText::new("DRY RUN").color(dry_color),
            )
            .on_hover_text("Copies, syncs and deletes only say what they would do");
            ui.separator();
            if ui
                .add_enabled(!busy, egui::Button::new(RichText::new("Compare").strong()))
                .on_hover_text("Scan both folders and compare them (Ctrl+R)")
                .clicked()
            {
                self.start_compare();
            }
            if ui
                .add_enabled(!busy, egui::Button::new("⬌ Swap sides"))
                .on_hover_text("Exchange the LEFT and RIGHT folders (and compare again)")
                .clicked()
            {
                self.swap_sides();
            }
            self.recent_menu(ui);
            self.job_menu(ui);
        });
        self.mode_bar(ui);
        self.filter_bar(ui);
        ui.horizontal_wrapped(|ui| {
            ui.label("Filter:");
            let r = ui.add(
                egui::TextEdit::singleline(&mut self.prefs.filter)
                    .desired_width(160.0)
                    .hint_text("*.jpg;*.png"),
            );
            if self.focus_filter {
                r.request_focus();
                self.focus_filter = false;
            }
            let enter = r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            if ui
                .button("Apply")
                .on_hover_text("Show only files whose names match the wildcard (Enter)")
                .clicked()
                || enter
            {
                self.apply_view();
            }
            if ui
                .button("Clear")
                .on_hover_text("Show every name again")
                .clicked()
            {
                self.prefs.filter.clear();
                self.apply_view();
            }
            ui.separator();
            let label = ui.label("Exclude:");
            ui.add(
                egui::TextEdit::singleline(&mut self.prefs.exclude)
                    .desired_width(150.0)
                    .hint_text("node_modules; *.tmp"),
            )
            .labelled_by(label.id)
            .on_hover_text(
                "Names, *.ext or folder/paths to leave out, separated by ';' (applies at the next Compare; \
                 right-click a row to add one)",
            );
            ui.separator();
            if ui
                .button("Expand All")
                .on_hover_text("Open every folder of both trees")
                .clicked()
            {
                self.tree.expand_all(true);
            }
            if ui
                .button("Collapse All")
                .on_hover_text("Close every folder of both trees")
                .clicked()
            {
                self.tree.expand_all(false);
            }
            if ui
                .checkbox(&mut self.prefs.differences_only, "Differences only")
                .on_hover_text("Hide the rows that are equal on both sides")
                .changed()
            {
                self.apply_view();
            }
            ui.menu_button("Columns", |ui| {
                ui.add_enabled(
                    !self.prefs.by_created,
                    egui::Checkbox::new(&mut self.prefs.show_created, "Date Created"),
                )
                .on_hover_text("Always shown while creation dates are compared");
                ui.label("Hash: shown when content is compared");
            });
            egui::widgets::global_theme_preference_buttons(ui);
            ui.separator();
            ui.label("Verify:");
            let before = self.prefs.verify;
            ui.radio_value(&mut self.prefs.verify, VerifyChoice::None, "no files")
                .on_hover_text("Copies are not read back (fastest; the copy is still atomic)");
            ui.radio_value(
                &mut self.prefs.verify,
                VerifyChoice::BelowThreshold,
                format!(
                    "only files below {}",
                    format_bytes(self.settings.verify_threshold)
                ),
            );
            ui.radio_value(&mut self.prefs.verify, VerifyChoice::All, "every file")
                .on_hover_text("Every copy is read back from the disk and compared before it replaces anything");
            if before != self.prefs.verify {
                self.sync_verify_setting();
            }
        });
        // Each side's buttons in its own half, above its own tree: nothing wraps under the
        // other side at any width.
        ui.columns(2, |cols| {
            for (ui, pane) in cols.iter_mut().zip([Pane::Left, Pane::Right]) {
                ui.horizontal_wrapped(|ui| {
                    ui.label(RichText::new(format!("{}:", pane.name())).strong());
                    if ui
                        .add_enabled(
                            !busy,
                            egui::Button::new(format!("Select All Differences {}", pane.name())),
                        )
                        .on_hover_text("Tick every shown row that differs and exists on this side")
                        .clicked()
                    {
                        self.tree.select_all_differences(pane);
                    }
                    if ui
                        .add_enabled(
                            !busy,
                            egui::Button::new(format!("Clear All {}", pane.name())),
                        )
                        .on_hover_text("Untick every row of this side")
                        .clicked()
                    {
                        self.tree.clear_all(pane);
                    }
                    let copy = match pane {
                        Pane::Left => "Copy LEFT -> Right",
                        Pane::Right => "Copy RIGHT -> Left",
                    };
                    let from_remote = self.tree.remote(pane);
                    if ui
                        .add_enabled(!busy && !from_remote, egui::Button::new(copy))
                        .on_hover_text(
                            "Copy the ticked items of this side to the other, after a confirmation",
                        )
                        .on_disabled_hover_text(if from_remote {
                            super::sync_ui::REMOTE_NOT_A_SOURCE
                        } else {
                            "Wait for the running job to finish"
                        })
                        .clicked()
                    {
                        self.request_copy(pane);
                    }
                    // Deleting the left's orphans is a run from the right: not from a remote
                    // location yet.
                    let left_of_remote = self.tree.remote(pane.other());
                    if ui
                        .add_enabled(
                            !busy && !left_of_remote,
                            egui::Button::new(
                                RichText::new(format!("Delete Orphans {}-only", pane.name()))
                                    .color(Kind::TypeConflict.color()),
                            ),
                        )
                        .on_hover_text("Choose items that exist only on this side and delete them")
                        .on_disabled_hover_text(if left_of_remote {
                            super::sync_ui::REMOTE_NOT_A_SOURCE
                        } else {
                            "Wait for the running job to finish"
                        })
                        .clicked()
                    {
                        self.open_orphans(pane);
                    }
                });
            }
        });
    }

    pub(super) fn bottom_ui(&mut self, ui: &mut egui::Ui) {
        let (d, ml, mr) = self.tree.counts();
        let marked = self.tree.ticked_count(Pane::Left) + self.tree.ticked_count(Pane::Right);
        let mut bar = format!(
            "{} | {ml} missing left | {mr} missing right | {marked} marked",
            plural(d as u64, "difference")
        );
        if self.prefs.dry_run {
            bar.push_str(" | DRY RUN");
        }
        bar.push_str(&format!(" | Verify: {}", self.verify_text()));
        ui.label(RichText::new(bar).strong());
        ui.label(&self.status);
        if let Some(job) = &self.job
            && job.kind == JobKind::Compare
        {
            let p = &self.progress;
            let mut cancel = false;
            ui.horizontal(|ui| {
                let (frac, text) = if p.hash_total > 0 {
                    (
                        p.hashed as f32 / p.hash_total as f32,
                        format!(
                            "Comparing content: {} of {}",
                            format_bytes(p.hashed),
                            format_bytes(p.hash_total)
                        ),
                    )
                } else {
                    // A scan's size is unknown until it ends: an animated bar with the counts.
                    (
                        0.0,
                        format!(
                            "Scanning: {} entries left, {} entries right",
                            p.scanned[0], p.scanned[1]
                        ),
                    )
                };
                ui.add(
                    egui::ProgressBar::new(frac)
                        .text(text)
                        .animate(p.hash_total == 0)
                        .desired_width(ui.available_width() - 90.0),
                );
                cancel = ui.button("Cancel").clicked();
            });
            if cancel {
                self.cancel();
            }
        }
        egui::CollapsingHeader::new(format!(
            "Status log ({})",
            plural(self.log.len() as u64, "line")
        ))
        .default_open(false)
        .show(ui, |ui| {
            ui.horizontal(|ui| {
                if ui.button("Export log…").clicked()
                    && let Some(p) = rfd::FileDialog::new()
                        .set_file_name("fcs-gui-log.txt")
                        .save_file()
                {
                    let text: String = self.log.iter().map(|l| format!("{l}\n")).collect();
                    match std::fs::write(&p, text) {
                        Ok(()) => self.set_status(format!("Log saved to {}", p.display())),
                        Err(e) => self.set_status(format!("Cannot save the log: {e}")),
                    }
                }
                if ui.button("Clear log").clicked() {
                    self.log.clear();
                }
            });
            egui::ScrollArea::vertical()
                .max_height(160.0)
                .stick_to_bottom(true)
                .show_rows(ui, 16.0, self.log.len(), |ui, range| {
                    for l in self.log.range(range) {
                        ui.monospace(l);
                    }
                });
        });
    }
}
