//! Delete Orphans: the dialog listing one side's items that the other side lacks, each checked
//! for access before it can be ticked, and the delete run it starts.

use std::path::{Path, PathBuf};

use egui::{Color32, RichText};
use engine::DeleteMode;
use engine::tree::{ActionKind, Plan, Summary};

use super::{CONFIRM_LIST, Dialog, FcsApp, Finished, Progress, plural, trash_name, trash_words};
use crate::model::{Pane, Tree, compile_wildcard, delete_plan};
use crate::worker::{Selection, start_delete};

impl FcsApp {
    /// The Delete key on row `c`: opens Delete Orphans for the active side with the row ticked.
    pub(super) fn delete_key(&mut self, c: usize, permanent: bool) {
        let pane = self.active;
        let r = &self.tree.rows[c];
        if r.side(pane).is_none() || r.side(pane.other()).is_some() {
            self.set_status(format!(
                "Delete works on items that exist only on the {} side (Delete Orphans).",
                pane.name()
            ));
            return;
        }
        self.open_orphans(pane);
        let root = match pane {
            Pane::Left => self.tree.left_root.clone(),
            Pane::Right => self.tree.right_root.clone(),
        };
        if let Dialog::Orphans(o) = &mut self.dialog
            && let Some(k) = o.rows.iter().position(|&i| i == c)
        {
            o.permanent |= permanent;
            if o.access(k, &self.tree, &root) == Access::Ok {
                o.ticked[k] = true;
                o.recount();
            }
        }
    }

    /// Opens the Delete Orphans dialog for `pane`'s items that the other side lacks.
    pub fn open_orphans(&mut self, pane: Pane) {
        if self.job.is_some() || !self.comparison_is_current() {
            return;
        }
        if self.cmp.is_none() {
            self.set_status("Compare the folders first.");
            return;
        }
        if self.tree.remote(pane.other()) {
            self.set_status(format!(
                "{}: delete the LEFT-only items in the file manager.",
                super::sync_ui::REMOTE_NOT_A_SOURCE
            ));
            return;
        }
        let rows = self.tree.orphans(pane);
        if rows.is_empty() {
            self.set_status(format!("No {}-only items.", pane.name()));
            return;
        }
        let n = rows.len();
        self.dialog = Dialog::Orphans(Box::new(Orphans {
            pane,
            rows,
            access: vec![None; n],
            ticked: vec![false; n],
            ticked_count: 0,
            dry_run: self.prefs.dry_run,
            // A remote location has no trash.
            permanent: self.tree.remote(pane),
            filter: String::new(),
            listed: Vec::new(),
            listed_for: None,
        }));
    }

    pub(super) fn request_delete(&mut self, o: &Orphans) {
        let Some(cmp) = &self.cmp else { return };
        let rels: Vec<PathBuf> = o
            .rows
            .iter()
            .zip(&o.ticked)
            .filter(|(_, t)| **t)
            .map(|(&i, _)| self.tree.rows[i].rel.clone())
            .collect();
        if rels.is_empty() {
            self.set_status("Nothing ticked to delete.");
            return;
        }
        match delete_plan(cmp, o.pane, &rels) {
            Ok(plan) => {
                let names: Vec<String> = plan
                    .actions
                    .iter()
                    .filter(|a| a.kind == ActionKind::Delete)
                    .map(|a| a.rel.display().to_string())
                    .collect();
                let more = names.len().saturating_sub(CONFIRM_LIST);
                self.dialog = Dialog::ConfirmDelete {
                    plan: Box::new(plan),
                    items: rels,
                    mode: if o.permanent {
                        DeleteMode::Permanent
                    } else {
                        DeleteMode::Trash
                    },
                    listing: names.into_iter().take(CONFIRM_LIST).collect(),
                    more,
                    dry_run: o.dry_run,
                };
            }
            Err(e) => self.fail(e.to_string()),
        }
    }

    pub(super) fn confirm_delete(
        &mut self,
        plan: Plan,
        items: Vec<PathBuf>,
        mode: DeleteMode,
        dry_run: bool,
    ) {
        let n = plan
            .actions
            .iter()
            .filter(|a| a.kind == ActionKind::Delete)
            .count();
        if dry_run {
            for a in plan.actions.iter().filter(|a| a.kind == ActionKind::Delete) {
                self.log(format!(
                    "DRY RUN delete {}",
                    plan.target_root.join(&a.rel).display()
                ));
            }
            self.set_status(format!(
                "DRY RUN: {} would be deleted; nothing was.",
                plural(n as u64, "item")
            ));
            self.dialog = Dialog::Finished(Box::new(Finished {
                title: "DRY RUN Delete Orphans".into(),
                summary: Summary::default(),
                lines: vec![format!(
                    "{} would be deleted; nothing was deleted.",
                    plural(n as u64, "item")
                )],
                errors: vec![],
            }));
            return;
        }
        self.set_status(format!(
            "Deleting {} {} …",
            plural(n as u64, "item"),
            match mode {
                DeleteMode::Trash => trash_words(),
                DeleteMode::Permanent => "permanently",
            }
        ));
        self.progress = Progress::default();
        self.progress.files_total = n as u64;
        self.dialog = Dialog::None;
        let Some(comparison) = self.cmp.clone() else {
            return;
        };
        let sel = Selection {
            source: plan.source_root,
            target: plan.target_root,
            comparison,
            items,
        };
        self.job = Some(start_delete(
            sel,
            self.settings.clone(),
            mode,
            self.wake.clone(),
        ));
    }

    pub(super) fn orphans_ui(
        &self,
        ctx: &egui::Context,
        o: &mut Orphans,
        action: &mut Option<bool>,
    ) {
        let tree = &self.tree;
        let root = match o.pane {
            Pane::Left => &tree.left_root,
            Pane::Right => &tree.right_root,
        };
        let wildcard = compile_wildcard(&o.filter).ok().flatten();
        let matches = |k: usize, o: &Orphans| {
            wildcard
                .as_ref()
                .is_none_or(|g| g.is_match(tree.rows[o.rows[k]].name.to_lowercase()))
        };
        if o.listed_for.as_deref() != Some(o.filter.as_str()) {
            // Once per change of the filter, not per frame: the list scrolls through the
            // matching rows only, however many orphans there are.
            o.listed = (0..o.rows.len())
                .filter(|&k| tree.rows[o.rows[k]].is_dir() || matches(k, o))
                .collect();
            o.listed_for = Some(o.filter.clone());
        }
        egui::Modal::new(egui::Id::unique("orphans")).show(ctx, |ui| {
            ui.set_width(640.0);
            ui.heading(format!("Delete Orphans — {}-only items", o.pane.name()));
            ui.label(format!("In {}", root.display()));
            ui.horizontal(|ui| {
                ui.checkbox(&mut o.dry_run, "DRY RUN (delete nothing)");
                let remote = tree.remote(o.pane);
                ui.add_enabled_ui(!remote, |ui| {
                    ui.radio_value(&mut o.permanent, false, trash_name())
                        .on_disabled_hover_text("A remote location has no trash");
                });
                ui.radio_value(&mut o.permanent, true, "Delete permanently");
            });
            ui.horizontal(|ui| {
                ui.label("Filter:");
                ui.add(
                    egui::TextEdit::singleline(&mut o.filter)
                        .desired_width(160.0)
                        .hint_text("*.tmp"),
                );
                if ui.button("Select All").clicked() {
                    // With a filter, only items whose own name matches: a listed folder is
                    // there to lead to its matching files, not to be deleted whole.
                    for k in 0..o.rows.len() {
                        if matches(k, o) && o.access(k, tree, root) == Access::Ok {
                            o.ticked[k] = true;
                        }
                    }
                    o.recount();
                }
                if ui.button("Clear All").clicked() {
                    o.ticked.iter_mut().for_each(|t| *t = false);
                    o.recount();
                }
            });
            let mut toggled = None;
            egui::ScrollArea::vertical()
                .max_height(320.0)
                .auto_shrink([false, true])
                .show_rows(ui, 20.0, o.listed.len(), |ui, range| {
                    for pos in range {
                        let k = o.listed[pos];
                        let access = o.access(k, tree, root);
                        ui.horizontal(|ui| {
                            let mut on = o.ticked[k];
                            let label = tree.rows[o.rows[k]].rel.display().to_string();
                            let ok = access == Access::Ok;
                            if ui
                                .add_enabled(ok, egui::Checkbox::new(&mut on, label))
                                .changed()
                            {
                                toggled = Some((k, on));
                            }
                            if !ok {
                                ui.label(
                                    RichText::new(access.label())
                                        .color(Color32::from_rgb(220, 90, 60)),
                                );
                            }
                        });
                    }
                });
            if let Some((k, on)) = toggled {
                // The same rules as the trees: a folder takes its contents along; unticking
                // clears the item, its ancestors and its descendants. `rows` is in tree order,
                // so a subtree is one run of it, found by binary search.
                let start = o.rows[k];
                let end = tree.rows[start].end as usize;
                let inside = k..o.rows.partition_point(|&r| r < end);
                for j in inside {
                    if !on {
                        o.ticked[j] = false;
                    } else if o.access(j, tree, root) == Access::Ok {
                        o.ticked[j] = true;
                    }
                }
                if !on {
                    let mut p = tree.rows[start].parent;
                    while let Some(a) = p {
                        if let Ok(j) = o.rows.binary_search(&(a as usize)) {
                            o.ticked[j] = false;
                        }
                        p = tree.rows[a as usize].parent;
                    }
                }
                o.recount();
            }
            let n = o.ticked_count;
            ui.separator();
            ui.horizontal(|ui| {
                if ui
                    .add_enabled(
                        n > 0,
                        egui::Button::new(format!("Delete {}…", plural(n as u64, "item"))),
                    )
                    .clicked()
                {
                    *action = Some(true);
                }
                if ui.button("Close").clicked() {
                    *action = Some(false);
                }
            });
        });
    }
}

/// Access to an orphan, checked when its row is first drawn or ticked; only `Ok` can be ticked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Ok,
    ReadOnly,
    NoAccess,
    /// Open in another program (Windows): deleting it would fail.
    InUse,
}

impl Access {
    fn label(self) -> &'static str {
        match self {
            Access::Ok => "OK",
            Access::ReadOnly => "read-only",
            Access::NoAccess => "no access",
            Access::InUse => "in use",
        }
    }
}

/// The Delete Orphans dialog's state.
#[derive(Debug)]
pub(super) struct Orphans {
    pane: Pane,
    /// Tree row indices of the orphans, in tree order.
    rows: Vec<usize>,
    /// Checked lazily, when a row is drawn or a tick would take it: a check costs a few system
    /// calls (an open on Windows), too many to make for every orphan of a million-row tree
    /// before the dialog can open.
    access: Vec<Option<Access>>,
    ticked: Vec<bool>,
    /// How many are ticked, counted when ticks change rather than every frame.
    ticked_count: usize,
    dry_run: bool,
    permanent: bool,
    filter: String,
    /// Positions in `rows` that pass `filter` (folders always do), rebuilt when it changes.
    listed: Vec<usize>,
    listed_for: Option<String>,
}

impl Orphans {
    /// The access of orphan `k`, checked on first use.
    fn access(&mut self, k: usize, tree: &Tree, root: &Path) -> Access {
        *self.access[k].get_or_insert_with(|| {
            if tree.remote(self.pane) {
                // The server answers for its own items: a refused delete fails that item.
                Access::Ok
            } else {
                check_access(&root.join(&tree.rows[self.rows[k]].rel))
            }
        })
    }

    fn recount(&mut self) {
        self.ticked_count = self.ticked.iter().filter(|t| **t).count();
    }
}

/// Whether an orphan can be deleted by us: readable metadata, not open in another program
/// (Windows), and neither it nor its folder read-only.
fn check_access(p: &Path) -> Access {
    let Ok(md) = std::fs::symlink_metadata(p) else {
        return Access::NoAccess;
    };
    if md.is_dir() && std::fs::read_dir(p).is_err() {
        return Access::NoAccess;
    }
    // Files and links only: a folder is "open" whenever a file manager watches it, which does
    // not stop its delete; its contents are checked one by one. A check that fails for another
    // reason leaves the verdict to the checks below and to the delete's own error.
    if !md.is_dir() && engine::access::in_use(p).unwrap_or(false) {
        return Access::InUse;
    }
    let parent_ro = p
        .parent()
        .and_then(|d| std::fs::metadata(d).ok())
        .is_some_and(|m| m.permissions().readonly());
    if md.permissions().readonly() || parent_ro {
        return Access::ReadOnly;
    }
    Access::Ok
}
