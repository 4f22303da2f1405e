//! The parts of the window that choose and start a sync: the mode bar, the view filter bar with
//! its per-kind counts, the middle column's action cell, and the sync preview.

use std::sync::Arc;

use egui::{Color32, RichText};
use engine::DeleteMode;
use engine::format_bytes;

use super::{CONFIRM_LIST, Dialog, FcsApp, plural, trash_words};
use crate::kinds::{Act, Kind};
use crate::model::{Pane, Tree};
use crate::sync::{Batch, Mode, apply_mode};
use crate::worker::start_sync;

/// The sync preview: exactly what Start will do, and the confirmations it still needs.
#[derive(Debug)]
pub(super) struct SyncPreview {
    batch: Batch,
    /// The first actions in words ("copy → a/b.txt").
    listing: Vec<String>,
    more: usize,
    /// The mass-deletion guard's message, when the mirror's deletes tripped it.
    guard: Option<String>,
    /// The user ticked "replace the newer items" / "delete them anyway".
    newer_ok: bool,
    guard_ok: bool,
}

/// Why nothing is copied from a remote RIGHT side (on the controls it disables).
pub(super) const REMOTE_NOT_A_SOURCE: &str =
    "The right side is a remote location: fcs copies to it, not from it yet";

impl FcsApp {
    /// Fills the middle column from the chosen mode (rows chosen by hand stay).
    pub(super) fn apply_mode(&mut self) {
        let Some(cmp) = self.cmp.clone() else {
            return;
        };
        if self.tree.remote_right && self.prefs.rule.from == Pane::Right {
            // A remote side is a target only: the mode runs from the left.
            self.prefs.rule.from = Pane::Left;
        }
        match apply_mode(
            &mut self.tree,
            &cmp,
            self.prefs.rule,
            self.settings.max_delete,
        ) {
            Ok(a) => self.guard = a.guard,
            Err(e) => {
                self.guard = None;
                self.set_status(format!(
                    "Cannot plan this mode: {} ({})",
                    e.message,
                    e.path.display()
                ));
            }
        }
    }

    /// Mode, direction, the by-hand count and the Synchronize button.
    pub(super) fn mode_bar(&mut self, ui: &mut egui::Ui) {
        let busy = self.job.is_some();
        ui.horizontal_wrapped(|ui| {
            ui.label(RichText::new("Sync:").strong());
            let before = self.prefs.rule;
            for m in Mode::ALL {
                ui.selectable_value(&mut self.prefs.rule.mode, m, m.label())
                    .on_hover_text(m.meaning());
            }
            if self.prefs.rule.mode != Mode::Custom {
                ui.separator();
                ui.selectable_value(&mut self.prefs.rule.from, Pane::Left, "LEFT ➡ RIGHT")
                    .on_hover_text("The left folder is the source");
                let remote = self.tree.remote_right;
                ui.add_enabled_ui(!remote, |ui| {
                    ui.selectable_value(&mut self.prefs.rule.from, Pane::Right, "LEFT ⬅ RIGHT")
                        .on_hover_text("The right folder is the source")
                        .on_disabled_hover_text(REMOTE_NOT_A_SOURCE);
                });
            }
            if before != self.prefs.rule {
                self.apply_mode();
            }
            let by_hand = self.tree.by_hand_count();
            if by_hand > 0 {
                ui.separator();
                ui.label(format!("{} chosen by hand", plural(by_hand as u64, "row")));
                if ui
                    .button("Reset")
                    .on_hover_text("Give every row the mode's action again")
                    .clicked()
                {
                    self.tree.reset_by_hand();
                    self.apply_mode();
                }
            }
            if self.guard.is_some() {
                ui.separator();
                ui.label(
                    RichText::new("⚠ deletes more than the safety limit")
                        .color(Kind::TypeConflict.color()),
                )
                .on_hover_text(self.guard.clone().unwrap_or_default());
            }
            ui.separator();
            let start =
                egui::Button::new(RichText::new("Synchronize…").strong().color(Color32::WHITE))
                    .fill(Color32::from_rgb(40, 110, 200));
            if ui
                .add_enabled(!busy && self.cmp.is_some(), start)
                .on_hover_text("Review what the middle column will do, then start (Ctrl+S)")
                .clicked()
            {
                self.request_sync();
            }
        });
    }

    /// One toggle per kind with its count, a search box, and "(filtered)".
    pub(super) fn filter_bar(&mut self, ui: &mut egui::Ui) {
        let counts = self.tree.kind_counts();
        let mut changed = false;
        ui.horizontal_wrapped(|ui| {
            ui.label("Show:");
            for k in Kind::ALL {
                let on = &mut self.prefs.kinds_shown[k.index()];
                // The kind's colour on its mark only: the words stay readable on the toggle's
                // highlight in both themes.
                let mut text = egui::text::LayoutJob::default();
                let font = egui::TextStyle::Button.resolve(ui.style());
                let words = if *on {
                    ui.visuals().text_color()
                } else {
                    ui.visuals().weak_text_color()
                };
                let mark = if *on { k.color() } else { words };
                text.append(k.icon(), 0.0, egui::TextFormat::simple(font.clone(), mark));
                text.append(
                    &format!(" {} {}", k.label(), counts[k.index()]),
                    0.0,
                    egui::TextFormat::simple(font, words),
                );
                if ui
                    .selectable_label(*on, text)
                    .on_hover_text(format!(
                        "{} — click to show or hide these rows",
                        k.meaning()
                    ))
                    .clicked()
                {
                    *on = !*on;
                    changed = true;
                }
            }
            ui.separator();
            let r = ui.add(
                egui::TextEdit::singleline(&mut self.prefs.search)
                    .desired_width(180.0)
                    .hint_text("Search paths"),
            );
            if r.changed() {
                changed = true;
            }
            if self.tree.is_filtered() {
                ui.label(RichText::new("(filtered)").italics())
                    .on_hover_text("Some rows are hidden by the filters");
            }
        });
        if changed {
            self.apply_view();
        }
    }

    /// Builds the preview of the middle column's actions.
    pub(super) fn request_sync(&mut self) {
        if self.job.is_some() || !self.comparison_is_current() {
            return;
        }
        if self.cmp.is_none() {
            self.set_status("Compare the folders first.");
            return;
        }
        let batch = Batch::of(&self.tree);
        if batch.is_empty() {
            self.set_status(
                "Nothing to do: no row has an action (choose a mode or click the middle column).",
            );
            return;
        }
        let mut listing = Vec::new();
        for r in self.tree.rows.iter().skip(1).filter(|r| r.act.changes()) {
            if listing.len() == CONFIRM_LIST {
                break;
            }
            listing.push(format!("{} {}", r.act.icon(), r.rel.display()));
        }
        let n = batch.to_right.len() + batch.to_left.len() + batch.deletes();
        let guard = if batch.deletes() > 0 {
            self.guard.clone()
        } else {
            None
        };
        self.dialog = Dialog::ConfirmSync(Box::new(SyncPreview {
            more: n.saturating_sub(listing.len()),
            listing,
            batch,
            guard,
            newer_ok: false,
            guard_ok: false,
        }));
    }

    /// The preview dialog; returns the dialog to keep showing (or none).
    pub(super) fn sync_dialog(&mut self, ctx: &egui::Context, mut p: Box<SyncPreview>) -> Dialog {
        let mut answer = None;
        let b = &p.batch;
        let delete_words = match self.settings.delete_mode {
            // The run deletes for good there (see `worker::start_sync`).
            _ if self.tree.remote_right => "permanently (a remote location has no trash)",
            DeleteMode::Trash => trash_words(),
            DeleteMode::Permanent => "permanently",
        };
        egui::Modal::new(egui::Id::unique("confirm-sync")).show(ctx, |ui| {
            ui.set_max_width(600.0);
            ui.heading(if self.prefs.dry_run {
                "Synchronize (DRY RUN)?"
            } else {
                "Synchronize?"
            });
            let (l, r) = (
                self.tree.left_root.display(),
                self.tree.right_root.display(),
            );
            egui::Grid::new("sync-totals")
                .num_columns(2)
                .show(ui, |ui| {
                    if !b.to_right.is_empty() {
                        ui.label(
                            RichText::new("➡ Copy to the right").color(Kind::LeftOnly.color()),
                        );
                        ui.label(format!(
                            "{}, {} — into {r}",
                            plural(b.files[0], "file"),
                            format_bytes(b.bytes[0])
                        ));
                        ui.end_row();
                    }
                    if !b.to_left.is_empty() {
                        ui.label(
                            RichText::new("⬅ Copy to the left").color(Kind::RightOnly.color()),
                        );
                        ui.label(format!(
                            "{}, {} — into {l}",
                            plural(b.files[1], "file"),
                            format_bytes(b.bytes[1])
                        ));
                        ui.end_row();
                    }
                    if !b.delete_right.is_empty() {
                        ui.label(
                            RichText::new("🗑 Delete on the right")
                                .color(Kind::TypeConflict.color()),
                        );
                        ui.label(format!(
                            "{} {delete_words}",
                            plural(b.delete_right.len() as u64, "item")
                        ));
                        ui.end_row();
                    }
                    if !b.delete_left.is_empty() {
                        ui.label(
                            RichText::new("🗑 Delete on the left").color(Kind::TypeConflict.color()),
                        );
                        ui.label(format!(
                            "{} {delete_words}",
                            plural(b.delete_left.len() as u64, "item")
                        ));
                        ui.end_row();
                    }
                    ui.label("Verify");
                    ui.label(self.verify_text());
                    ui.end_row();
                });
            ui.separator();
            for l in &p.listing {
                ui.monospace(l);
            }
            if p.more > 0 {
                ui.label(format!("… and {} more", p.more));
            }
            let warn = Kind::TypeConflict.color();
            if !b.newer_replaced.is_empty() {
                ui.separator();
                ui.label(
                    RichText::new(format!(
                        "⚠ {} {}:",
                        plural(b.newer_replaced.len() as u64, "item"),
                        if b.newer_replaced.len() == 1 {
                            "is newer than the version that will replace it"
                        } else {
                            "are newer than the versions that will replace them"
                        },
                    ))
                    .color(warn)
                    .strong(),
                );
                for n in b.newer_replaced.iter().take(CONFIRM_LIST) {
                    ui.monospace(n.display().to_string());
                }
                if b.newer_replaced.len() > CONFIRM_LIST {
                    ui.label(format!(
                        "… and {} more",
                        b.newer_replaced.len() - CONFIRM_LIST
                    ));
                }
                ui.checkbox(&mut p.newer_ok, "Replace these newer items with older ones");
            }
            if let Some(g) = &p.guard {
                ui.separator();
                ui.label(
                    RichText::new("⚠ This sync deletes more than the safety limit allows.")
                        .color(warn)
                        .strong(),
                )
                .on_hover_text(g.as_str());
                ui.label("Check that the folders are the right way round.");
                ui.checkbox(&mut p.guard_ok, "Delete them anyway");
            }
            if self.prefs.dry_run {
                ui.label(
                    RichText::new("DRY RUN: nothing will be written.")
                        .color(Color32::from_rgb(220, 140, 0)),
                );
            }
            let ready =
                (b.newer_replaced.is_empty() || p.newer_ok) && (p.guard.is_none() || p.guard_ok);
            ui.horizontal(|ui| {
                if ui
                    .add_enabled(ready, egui::Button::new(RichText::new("Start").strong()))
                    .on_disabled_hover_text("Tick the confirmation above first")
                    .clicked()
                {
                    answer = Some(true);
                }
                if ui.button("Cancel").clicked() {
                    answer = Some(false);
                }
            });
        });
        match answer {
            Some(true) => {
                self.start_sync(*p);
                std::mem::replace(&mut self.dialog, Dialog::None)
            }
            Some(false) => Dialog::None,
            None => Dialog::ConfirmSync(p),
        }
    }

    fn start_sync(&mut self, p: SyncPreview) {
        let b = p.batch;
        if self.prefs.dry_run {
            let lines: Vec<String> = self
                .tree
                .rows
                .iter()
                .skip(1)
                .filter(|r| r.act.changes())
                .map(|r| format!("DRY RUN {} {}", r.act.words(r.kind), r.rel.display()))
                .collect();
            for l in lines {
                self.log(l);
            }
            self.set_status("DRY RUN: the sync's actions are in the log; nothing was written.");
            self.dialog = Dialog::Finished(Box::new(super::Finished {
                title: "DRY RUN Synchronize".into(),
                summary: Default::default(),
                lines: vec![format!(
                    "{} to copy, {} to delete; nothing was written.",
                    plural(b.files[0] + b.files[1], "file"),
                    plural(b.deletes() as u64, "item")
                )],
                errors: vec![],
            }));
            return;
        }
        let Some(cmp) = self.cmp.clone() else { return };
        self.set_status(format!(
            "Synchronizing: {}, {} …",
            plural(b.files[0] + b.files[1], "file"),
            format_bytes(b.bytes[0] + b.bytes[1])
        ));
        self.progress = Default::default();
        self.progress.files_total = b.files[0] + b.files[1] + b.deletes() as u64;
        self.progress.bytes_total = b.bytes[0] + b.bytes[1];
        self.progress.preset = true;
        self.file_notes.clear();
        self.run_root = None;
        let roots = [self.tree.left_root.clone(), self.tree.right_root.clone()];
        self.job = Some(start_sync(
            b.legs(),
            roots,
            Arc::clone(&cmp),
            self.settings.clone(),
            p.guard_ok,
            self.wake.clone(),
        ));
    }
}

/// The middle column's cell of row `i`: the kind's mark, then the action as a button. Returns
/// the action a click or the context menu chose.
pub(super) fn act_cell(ui: &mut egui::Ui, tree: &Tree, i: usize) -> Option<Act> {
    let r = &tree.rows[i];
    let mut chosen = None;
    {
        let mark = if r.kind == Kind::Equal && r.inner_differs {
            RichText::new("•").color(Kind::Differs.color())
        } else {
            RichText::new(r.kind.icon()).color(r.kind.color())
        };
        let hover = if r.kind == Kind::Equal && r.inner_differs {
            "Something inside this folder differs".to_string()
        } else {
            r.kind.meaning().to_string()
        };
        ui.label(mark).on_hover_text(hover);
    }
    if i == 0 {
        // The root row is the two folders themselves: a sync acts on what is inside them.
        return None;
    }
    let text = RichText::new(r.act.icon()).strong().color(match r.act {
        Act::ToRight => Kind::LeftOnly.color(),
        Act::ToLeft => Kind::RightOnly.color(),
        Act::DeleteLeft | Act::DeleteRight => Kind::TypeConflict.color(),
        Act::Skip => Kind::Differs.color(),
        Act::Nothing => Color32::GRAY,
    });
    let kind = if r.is_dir() && r.inner_differs && r.kind == Kind::Equal {
        Kind::Differs
    } else {
        r.kind
    };
    let mut hover = r.act.words(kind).to_string();
    if let Some(w) = &r.why {
        hover = format!("{hover}: {w}");
    }
    if r.by_hand {
        hover.push_str(" (chosen by hand)");
    }
    if tree.choices(i).len() > 1 {
        hover.push_str(" — click to change, right-click for all choices");
    }
    let resp = ui
        .add(egui::Button::new(text).frame(r.by_hand).small())
        .on_hover_text(hover);
    if resp.clicked() {
        chosen = Some(tree.next_act(i));
    }
    resp.context_menu(|ui| {
        for &a in tree.choices(i) {
            if ui
                .button(format!("{}  {}", a.icon(), a.words(kind)))
                .clicked()
            {
                chosen = Some(a);
                ui.close();
            }
        }
    });
    chosen
}
