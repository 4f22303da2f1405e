//! The two trees side by side: one table whose rows line up the two sides, with the middle
//! action column, icons, highlighted differing cells and each row's menu.

use egui::{Color32, RichText};
use egui_extras::{Column, TableBuilder};
use engine::format_bytes;
use engine::tree::EntryKind;

use super::sync_ui::act_cell;
use super::{FcsApp, fmt_time, row_menu};
use crate::kinds::Kind;
use crate::model::{Pane, SortKey};

impl FcsApp {
    pub(super) fn trees_ui(&mut self, ui: &mut egui::Ui) {
        if self.tree.is_empty() {
            ui.centered_and_justified(|ui| {
                ui.label("No comparison yet: choose LEFT and RIGHT folders and press Compare.");
            });
            return;
        }
        // Narrow windows scroll the grid sideways instead of cutting its last columns off.
        egui::ScrollArea::horizontal()
            .auto_shrink(false)
            .show(ui, |ui| self.grid_ui(ui));
    }

    pub(super) fn grid_ui(&mut self, ui: &mut egui::Ui) {
        let row_h = 20.0;
        let cursor_pos = if self.scroll_to_cursor {
            self.cursor
                .and_then(|c| self.tree.visible().iter().position(|&v| v as usize == c))
        } else {
            None
        };
        // Hideable columns: creation dates when compared or asked for, hashes when compared.
        let show_created = self.prefs.by_created || self.prefs.show_created;
        let show_hash = self.tree.content_compared;
        let mut table = TableBuilder::new(ui)
            .striped(true)
            .resizable(true)
            .cell_layout(egui::Layout::left_to_right(egui::Align::Center))
            .min_scrolled_height(0.0);
        for side in 0..2 {
            if side == 1 {
                // The middle column: the row's kind and its action.
                table = table.column(Column::exact(62.0));
            }
            table = table
                .column(Column::remainder().at_least(180.0).clip(true))
                .column(Column::initial(64.0).clip(true));
            if show_created {
                table = table.column(Column::initial(122.0).clip(true));
            }
            table = table.column(Column::initial(122.0).clip(true));
            if show_hash {
                table = table.column(Column::initial(50.0).clip(true));
            }
            table = table.column(Column::initial(150.0).at_least(80.0).clip(true));
        }
        if self.scroll_to_cursor
            && let Some(p) = cursor_pos
        {
            table = table.scroll_to_row(p, None);
            self.scroll_to_cursor = false;
        }
        let mut toggles: Vec<(usize, Pane, bool)> = Vec::new();
        let mut expand: Option<(usize, bool)> = None;
        let mut clicked: Option<(usize, Pane)> = None;
        let mut sort_click = None;
        let mut set_act = None;
        let mut row_cmd = None;
        let sort = self.sort;
        let tree = &self.tree;
        let notes = &self.file_notes;
        let failed = &self.failed;
        table
            .header(22.0, |mut h| {
                for pane in [Pane::Left, Pane::Right] {
                    if pane == Pane::Right {
                        h.col(|ui| {
                            ui.strong("Action").on_hover_text(
                                "What Synchronize does with each row: click to change it",
                            );
                        });
                    }
                    for (c, key) in [
                        (format!("{} Name", pane.name()), Some(SortKey::Name)),
                        ("Size".into(), Some(SortKey::Size)),
                        ("Date Created".into(), Some(SortKey::Created)),
                        ("Date Modified".into(), Some(SortKey::Modified)),
                        ("Hash".into(), None),
                        ("Status".into(), None),
                    ]
                    .into_iter()
                    .filter(|(c, _)| {
                        (show_created || c != "Date Created") && (show_hash || c != "Hash")
                    }) {
                        h.col(|ui| {
                            let Some(key) = key else {
                                ui.strong(c);
                                return;
                            };
                            let mark = match sort {
                                Some((k, p, desc)) if k == key && p == pane => {
                                    if desc {
                                        " ⏷"
                                    } else {
                                        " ⏶"
                                    }
                                }
                                _ => "",
                            };
                            let b = egui::Button::new(RichText::new(format!("{c}{mark}")).strong())
                                .frame(false);
                            if ui
                                .add(b)
                                .on_hover_text("Sort the items of every folder by this column")
                                .clicked()
                            {
                                let desc =
                                    matches!(sort, Some((k, p, false)) if k == key && p == pane);
                                sort_click = Some((key, pane, desc));
                            }
                        });
                    }
                }
            })
            .body(|body| {
                body.rows(row_h, tree.visible().len(), |mut row| {
                    let i = tree.visible()[row.index()] as usize;
                    let r = &tree.rows[i];
                    row.set_selected(Some(i) == self.cursor);
                    for pane in [Pane::Left, Pane::Right] {
                        if pane == Pane::Right {
                            row.col(|ui| {
                                if let Some(a) = act_cell(ui, tree, i) {
                                    set_act = Some((i, a));
                                }
                            });
                        }
                        let side = r.side(pane);
                        let (_, resp) = row.col(|ui| {
                            ui.add_space(r.depth as f32 * 14.0);
                            if r.is_dir() {
                                let open = tree.is_expanded(i);
                                let b = ui
                                    .add(
                                        egui::Button::new(if open { "⏷" } else { "⏵" })
                                            .small()
                                            .frame(false),
                                    )
                                    .on_hover_text(if open { "Collapse" } else { "Expand" });
                                if b.clicked() {
                                    expand = Some((i, !open));
                                }
                            } else {
                                ui.add_space(16.0);
                            }
                            let name = tree.display_name(i, pane);
                            if let Some(s) = side {
                                let icon = match s.kind {
                                    EntryKind::Dir => "📁",
                                    EntryKind::Symlink => "🔗",
                                    EntryKind::Special => "⚙",
                                    EntryKind::File => "",
                                };
                                if !icon.is_empty() {
                                    ui.label(RichText::new(icon).weak());
                                }
                            }
                            if side.is_some() {
                                let mut on = tree.is_ticked(i, pane);
                                let mut cb = ui.checkbox(&mut on, name);
                                if let Some(n) = notes.get(&r.rel) {
                                    cb = cb.on_hover_text(n.as_str());
                                } else if r.differs() && !r.diffs.is_empty() {
                                    cb = cb.on_hover_text(format!(
                                        "differs by: {}",
                                        r.diffs.names().join(", ")
                                    ));
                                }
                                if cb.changed() {
                                    toggles.push((i, pane, on));
                                }
                                cb.context_menu(|ui| {
                                    if let Some(c) = row_menu::row_menu(ui, tree, i, pane) {
                                        row_cmd = Some(c);
                                    }
                                });
                            } else {
                                ui.label(
                                    RichText::new(format!("{name} [MISSING]"))
                                        .color(Color32::GRAY)
                                        .italics(),
                                )
                                .context_menu(|ui| {
                                    if let Some(c) = row_menu::row_menu(ui, tree, i, pane) {
                                        row_cmd = Some(c);
                                    }
                                });
                            }
                        });
                        if resp.clicked() {
                            clicked = Some((i, pane));
                        }
                        resp.context_menu(|ui| {
                            if let Some(c) = row_menu::row_menu(ui, tree, i, pane) {
                                row_cmd = Some(c);
                            }
                        });
                        let dir = side.is_some_and(|s| s.kind == EntryKind::Dir);
                        // The cells that differ from the other side's.
                        let both = r.left.is_some() && r.right.is_some();
                        let size_differs = both && r.diffs.contains(engine::tree::Diffs::SIZE);
                        let modified_differs =
                            both && r.diffs.contains(engine::tree::Diffs::MODIFIED);
                        let created_differs =
                            both && r.diffs.contains(engine::tree::Diffs::CREATED);
                        row.col(|ui| {
                            match side {
                                // A link has no size of its own worth showing: where it points
                                // is read when the pointer rests on it.
                                Some(s) if s.kind == EntryKind::Symlink => {
                                    let root = match pane {
                                        Pane::Left => &tree.left_root,
                                        Pane::Right => &tree.right_root,
                                    };
                                    ui.label("(link)").on_hover_ui_at_pointer(|ui| {
                                        ui.label(match std::fs::read_link(root.join(&r.rel)) {
                                            Ok(t) => format!("points to {}", t.display()),
                                            Err(e) => format!("cannot read the link: {e}"),
                                        });
                                    });
                                }
                                Some(s) if !dir => {
                                    // Sizes right-aligned, in the kind's colour where they
                                    // are the difference.
                                    ui.with_layout(
                                        egui::Layout::right_to_left(egui::Align::Center),
                                        |ui| {
                                            ui.label(differs_text(
                                                format_bytes(s.size),
                                                size_differs,
                                                r.kind,
                                            ))
                                        },
                                    );
                                }
                                _ => {}
                            }
                        });
                        if show_created {
                            row.col(|ui| {
                                if let Some(s) = side {
                                    ui.label(differs_text(
                                        fmt_time(s.created),
                                        created_differs,
                                        r.kind,
                                    ));
                                }
                            });
                        }
                        row.col(|ui| {
                            if let Some(s) = side {
                                ui.label(differs_text(
                                    fmt_time(s.modified),
                                    modified_differs,
                                    r.kind,
                                ));
                            }
                        });
                        if show_hash {
                            row.col(|ui| {
                                if side.is_some() && !dir && i > 0 {
                                    let other = r.side(pane.other()).is_some();
                                    ui.label(if !other {
                                        "—"
                                    } else if r.diffs.contains(engine::tree::Diffs::CONTENT)
                                        || r.diffs.contains(engine::tree::Diffs::SIZE)
                                    {
                                        "differs"
                                    } else {
                                        "equal"
                                    });
                                }
                            });
                        }
                        row.col(|ui| {
                            if let Some(why) = failed.get(&r.rel) {
                                ui.label(
                                    RichText::new("✖ Failed")
                                        .color(Kind::TypeConflict.color())
                                        .strong(),
                                )
                                .on_hover_text(format!("The last run could not do this: {why}"));
                                return;
                            }
                            let st = r.status(pane);
                            let color = if side.is_none() {
                                Color32::GRAY
                            } else if r.kind == Kind::Equal && !r.inner_differs {
                                ui.visuals().text_color()
                            } else if r.kind == Kind::Equal {
                                Kind::Differs.color()
                            } else {
                                r.kind.color()
                            };
                            ui.label(RichText::new(st).color(color))
                                .on_hover_text(r.kind.meaning());
                        });
                    }
                });
            });
        for (i, pane, on) in toggles {
            self.tree.set_ticked(i, pane, on);
            self.cursor = Some(i);
            self.active = pane;
        }
        if let Some((i, open)) = expand {
            self.tree.set_expanded(i, open);
        }
        if let Some(c) = row_cmd {
            let ctx = ui.ctx().clone();
            self.run_row_command(&ctx, c);
        }
        if let Some((i, a)) = set_act {
            self.tree.set_act(i, a);
            self.cursor = Some(i);
        }
        if let Some((i, pane)) = clicked {
            self.cursor = Some(i);
            self.active = pane;
        }
        if let Some((key, pane, desc)) = sort_click {
            self.sort = Some((key, pane, desc));
            self.tree.sort(key, pane, desc);
            // Row indices moved: the cursor is found again by path on the next click.
            self.cursor = None;
        }
    }
}

/// A cell's text, strong and in the row kind's colour when it is where the two sides differ.
fn differs_text(text: String, differs: bool, kind: Kind) -> RichText {
    let t = RichText::new(text);
    if differs {
        t.color(kind.color()).strong()
    } else {
        t
    }
}
