//! The two aligned trees as data: one row per relative path of the union of both folders, in the
//! comparison's order (a folder right before its contents), so the left and right trees always
//! have identical rows in the same order. Selection, expand/collapse, the name filter and the
//! "differences only" view live here, apart from any drawing, so they are unit-tested directly
//! and stay O(rows) for trees of a million entries.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use engine::tree::{Category, Comparison, Diffs, Direction, EntryKind, Plan, PlanOptions};

use crate::kinds::{Act, Kind};

/// Which tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Pane {
    Left,
    Right,
}

impl Pane {
    pub fn name(self) -> &'static str {
        match self {
            Pane::Left => "LEFT",
            Pane::Right => "RIGHT",
        }
    }
    pub fn other(self) -> Pane {
        match self {
            Pane::Left => Pane::Right,
            Pane::Right => Pane::Left,
        }
    }
}

/// What one side holds at a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Side {
    pub kind: EntryKind,
    pub size: u64,
    pub created: Option<SystemTime>,
    pub modified: Option<SystemTime>,
}

/// One row of both trees.
#[derive(Debug, Clone)]
pub struct Row {
    /// Relative path; empty for the root row.
    pub rel: PathBuf,
    /// What the tree shows: the file name, or for the root row the full root paths.
    pub name: String,
    pub depth: u16,
    pub parent: Option<u32>,
    /// One past the last row of this row's subtree (rows `index+1..end` are its descendants).
    pub end: u32,
    pub left: Option<Side>,
    pub right: Option<Side>,
    pub category: Category,
    pub diffs: Diffs,
    /// The grid's category of the row.
    pub kind: Kind,
    /// Something beneath this folder differs (the folder's marker).
    pub inner_differs: bool,
    /// What a sync does with the row: chosen by the mode, or by hand.
    pub act: Act,
    /// The action was chosen by hand (a click or the context menu), not by the mode.
    pub by_hand: bool,
    /// Why the mode leaves this difference alone (the engine's words), for `Act::Skip`.
    pub why: Option<Box<str>>,
}

impl Row {
    pub fn side(&self, pane: Pane) -> Option<&Side> {
        match pane {
            Pane::Left => self.left.as_ref(),
            Pane::Right => self.right.as_ref(),
        }
    }
    /// A folder on either side (it can be expanded).
    pub fn is_dir(&self) -> bool {
        [&self.left, &self.right]
            .iter()
            .any(|s| s.as_ref().is_some_and(|s| s.kind == EntryKind::Dir))
    }
    pub fn differs(&self) -> bool {
        self.category != Category::Same
    }
    /// The Status column for one side: the row's category in words, as this side sees it.
    pub fn status(&self, pane: Pane) -> &'static str {
        let Some(s) = self.side(pane) else {
            return "Missing";
        };
        let dir = s.kind == EntryKind::Dir;
        match self.kind {
            Kind::Equal | Kind::MetadataOnly if dir && self.inner_differs => {
                "Folder, differences inside"
            }
            Kind::Equal if dir => "Folder",
            Kind::Equal => "Same",
            Kind::MetadataOnly if dir => "Folder times differ",
            Kind::MetadataOnly => {
                if self.diffs.contains(Diffs::NAME) {
                    "Name case differs"
                } else if self.diffs.contains(Diffs::OWNER) {
                    "Owner differs"
                } else if self.diffs.contains(Diffs::XATTRS) {
                    "Attributes differ"
                } else {
                    "Permissions differ"
                }
            }
            Kind::LeftOnly | Kind::RightOnly if dir => "Folder, only here",
            Kind::LeftOnly | Kind::RightOnly => "Only here",
            Kind::LeftNewer | Kind::RightNewer => {
                let newer = if self.kind == Kind::LeftNewer {
                    Pane::Left
                } else {
                    Pane::Right
                };
                if newer == pane { "Newer" } else { "Older" }
            }
            Kind::TypeConflict => match s.kind {
                EntryKind::Dir => "Folder (other type)",
                EntryKind::Symlink => "Link (other type)",
                _ => "File (other type)",
            },
            Kind::Differs => {
                if self.diffs.contains(Diffs::CONTENT) {
                    "Content differs"
                } else if self.diffs.contains(Diffs::SIZE) {
                    "Size differs"
                } else if self.diffs.contains(Diffs::CREATED) {
                    "Created differs"
                } else {
                    "Different"
                }
            }
        }
    }
}

/// The compared trees, with ticks, expansion and the current view.
///
/// Sized for a million rows: a frame draws only the rows in view (`visible` is indexed, never
/// scanned), counts are cached, and ticks adjust the marked count by what they changed. Measured
/// with `examples/million.rs` (release, 2 cores, 1,001,101 rows, headless egui_kittest frames):
/// building the rows 0.28 s; a frame 1.6 ms on average whether the view is at the top, the end
/// or scrolling (at most 8 ms); Expand All 19–35 ms, Collapse All 13 ms, ticking a folder 5 ms,
/// Select All Differences 15 ms, differences only 20–27 ms, a name filter 0.12–0.17 s, a sort
/// 0.26–0.31 s (each the frame that does it).
#[derive(Debug, Default)]
pub struct Tree {
    pub rows: Vec<Row>,
    pub left_root: PathBuf,
    pub right_root: PathBuf,
    /// Whether content (hash) was compared: the Hash column then has something to say.
    pub content_compared: bool,
    ticked_left: Vec<bool>,
    ticked_right: Vec<bool>,
    expanded: Vec<bool>,
    /// Rows that pass the name filter and the differences-only view (ignoring collapse).
    shown: Vec<bool>,
    /// Row indices to draw, in order (shown, and every ancestor expanded).
    visible: Vec<u32>,
    /// Differences, missing left, missing right: fixed per comparison, so counted once rather
    /// than every frame (a million rows).
    counts: (usize, usize, usize),
    /// Rows of each [`Kind`] (the filter bar's counts), counted once per comparison.
    kind_counts: [usize; 8],
    /// Marked items per side, recounted only when ticks change.
    marked: [usize; 2],
    /// The filter bar: which kinds are shown, and the search text (part of the path).
    kinds_shown: [bool; 8],
    search: String,
    /// Whether the current view hides anything (the "(filtered)" mark).
    filtered: bool,
    /// Rows whose action was chosen by hand (see `Tree::by_hand_count`).
    pub(crate) by_hand: usize,
    /// The right side is a remote location (`s3://`, `sftp://`): it can be written to, not
    /// copied from, so no action sends one of its items to the left.
    pub remote_right: bool,
}

impl Tree {
    /// Whether `pane` is a remote location (only the right side can be).
    pub fn remote(&self, pane: Pane) -> bool {
        pane == Pane::Right && self.remote_right
    }
}

impl Tree {
    /// Rows from a comparison: a root row, then every item in the comparison's order (which
    /// puts a folder right before its contents). Folders start expanded down to `open_depth`.
    pub fn from_comparison(cmp: &Comparison, open_depth: u16) -> Tree {
        let mut rows = Vec::with_capacity(cmp.items.len() + 1);
        let root_diff = !cmp.identical();
        let dir = |t| {
            Some(Side {
                kind: EntryKind::Dir,
                size: 0,
                created: None,
                modified: t,
            })
        };
        let remote_right = engine::remote::is_remote(&cmp.right.root);
        let lm = std::fs::metadata(&cmp.left.root)
            .ok()
            .and_then(|m| m.modified().ok());
        let rm = std::fs::metadata(&cmp.right.root)
            .ok()
            .and_then(|m| m.modified().ok());
        rows.push(Row {
            rel: PathBuf::new(),
            name: String::new(),
            depth: 0,
            parent: None,
            end: 0,
            left: dir(lm),
            // A remote location that was listed is there (a path test cannot tell).
            right: if remote_right || cmp.right.root.exists() {
                dir(rm)
            } else {
                None
            },
            category: if root_diff {
                Category::Different
            } else {
                Category::Same
            },
            diffs: Diffs::default(),
            kind: Kind::Equal,
            inner_differs: false,
            act: Act::Nothing,
            by_hand: false,
            why: None,
        });
        // Ancestors of the current row, as row indices: the comparison is in pre-order.
        let mut stack: Vec<u32> = vec![0];
        let side = |e: Option<&engine::tree::Entry>| {
            e.map(|e| Side {
                kind: e.kind,
                size: e.size,
                created: e.created,
                modified: e.modified,
            })
        };
        for it in &cmp.items {
            let rel = cmp.rel(it);
            let depth = rel.components().count() as u16;
            while stack.len() > depth as usize {
                let done = stack.pop().unwrap_or(0);
                rows[done as usize].end = rows.len() as u32;
            }
            let parent = stack.last().copied();
            let idx = rows.len() as u32;
            rows.push(Row {
                rel: rel.to_path_buf(),
                name: rel
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                depth,
                parent,
                end: idx + 1,
                left: side(cmp.left_entry(it)),
                right: side(cmp.right_entry(it)),
                category: it.category,
                diffs: it.diffs,
                kind: Kind::of(
                    it.category,
                    it.diffs,
                    cmp.left_entry(it).map(|e| e.kind),
                    cmp.right_entry(it).map(|e| e.kind),
                ),
                inner_differs: false,
                act: Act::Nothing,
                by_hand: false,
                why: None,
            });
            stack.push(idx);
        }
        let n = rows.len() as u32;
        for i in stack {
            rows[i as usize].end = n;
        }
        // Bottom-up: a folder is marked when anything beneath it differs.
        for i in (1..rows.len()).rev() {
            if (rows[i].kind.differs() || rows[i].inner_differs)
                && let Some(p) = rows[i].parent
            {
                rows[p as usize].inner_differs = true;
            }
        }
        let expanded = rows.iter().map(|r| r.depth < open_depth).collect();
        let mut t = Tree {
            left_root: cmp.left.root.clone(),
            right_root: cmp.right.root.clone(),
            content_compared: cmp.criteria.content,
            ticked_left: vec![false; rows.len()],
            ticked_right: vec![false; rows.len()],
            shown: vec![true; rows.len()],
            expanded,
            visible: Vec::new(),
            counts: (0, 0, 0),
            kind_counts: [0; 8],
            marked: [0, 0],
            kinds_shown: [true; 8],
            search: String::new(),
            filtered: false,
            by_hand: 0,
            remote_right,
            rows,
        };
        t.counts = t.count_rows();
        for r in t.rows.iter().skip(1) {
            t.kind_counts[r.kind.index()] += 1;
        }
        t.rebuild_visible();
        t
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The root row shows the full root path of its own side.
    pub fn display_name(&self, i: usize, pane: Pane) -> String {
        if i == 0 {
            match pane {
                Pane::Left => self.left_root.display().to_string(),
                Pane::Right => self.right_root.display().to_string(),
            }
        } else {
            self.rows[i].name.clone()
        }
    }

    pub fn visible(&self) -> &[u32] {
        &self.visible
    }

    pub fn index_of(&self, rel: &Path) -> Option<usize> {
        self.rows.iter().position(|r| r.rel == rel)
    }

    // --- ticks -----------------------------------------------------------------------------

    fn ticks(&self, pane: Pane) -> &Vec<bool> {
        match pane {
            Pane::Left => &self.ticked_left,
            Pane::Right => &self.ticked_right,
        }
    }
    fn ticks_mut(&mut self, pane: Pane) -> &mut Vec<bool> {
        match pane {
            Pane::Left => &mut self.ticked_left,
            Pane::Right => &mut self.ticked_right,
        }
    }
    pub fn is_ticked(&self, i: usize, pane: Pane) -> bool {
        self.ticks(pane)[i]
    }
    /// A row can be ticked on a side where it exists (a `[MISSING]` placeholder cannot).
    pub fn can_tick(&self, i: usize, pane: Pane) -> bool {
        self.rows[i].side(pane).is_some()
    }

    /// Ticks a row. A folder ticks itself and only those descendants that differ, exist on this
    /// side and pass the current filter; a file ticks itself.
    pub fn tick(&mut self, i: usize, pane: Pane) {
        if !self.can_tick(i, pane) {
            return;
        }
        let end = self.rows[i].end as usize;
        let picks: Vec<usize> = std::iter::once(i)
            .chain((i + 1..end).filter(|&j| {
                let r = &self.rows[j];
                r.differs() && r.side(pane).is_some() && self.shown[j]
            }))
            .collect();
        // The marked count moves by what changed, so ticking one file in a million-row tree
        // costs its own subtree, not a recount of every row.
        let mut added = 0;
        for j in picks {
            if !self.ticks(pane)[j] {
                self.ticks_mut(pane)[j] = true;
                added += usize::from(self.counts_as_marked(j));
            }
        }
        self.marked[pane as usize] += added;
    }

    /// Unticks a row: the item, its ancestors and its descendants.
    pub fn untick(&mut self, i: usize, pane: Pane) {
        let end = self.rows[i].end as usize;
        let mut cleared = Vec::new();
        let mut p = self.rows[i].parent;
        while let Some(a) = p {
            cleared.push(a as usize);
            p = self.rows[a as usize].parent;
        }
        cleared.extend(i..end);
        let mut removed = 0;
        for j in cleared {
            if self.ticks(pane)[j] {
                self.ticks_mut(pane)[j] = false;
                removed += usize::from(self.counts_as_marked(j));
            }
        }
        self.marked[pane as usize] -= removed;
    }

    /// Whether a ticked row is one of the marked items a copy acts on (it differs, and it is not
    /// the root row).
    fn counts_as_marked(&self, i: usize) -> bool {
        i != 0 && self.rows[i].differs()
    }

    pub fn set_ticked(&mut self, i: usize, pane: Pane, on: bool) {
        if on {
            self.tick(i, pane)
        } else {
            self.untick(i, pane)
        }
    }

    /// Select All Differences for one side: every shown row that differs and exists there.
    pub fn select_all_differences(&mut self, pane: Pane) {
        let picks: Vec<bool> = self
            .rows
            .iter()
            .zip(&self.shown)
            .map(|(r, &s)| s && r.differs() && r.side(pane).is_some())
            .collect();
        *self.ticks_mut(pane) = picks;
        self.recount_marked();
    }

    pub fn clear_all(&mut self, pane: Pane) {
        self.ticks_mut(pane).iter_mut().for_each(|t| *t = false);
        self.recount_marked();
    }

    /// Marked items of one side (cached; see `Tree::recount_marked`).
    pub fn ticked_count(&self, pane: Pane) -> usize {
        self.marked[pane as usize]
    }

    fn recount_marked(&mut self) {
        self.marked = [
            self.count_marked(Pane::Left),
            self.count_marked(Pane::Right),
        ];
    }

    fn count_marked(&self, pane: Pane) -> usize {
        self.ticks(pane)
            .iter()
            .enumerate()
            .filter(|&(i, t)| *t && self.counts_as_marked(i))
            .count()
    }

    /// The ticked items of one side that a copy from it would act on, in tree order.
    pub fn ticked_rels(&self, pane: Pane) -> Vec<PathBuf> {
        self.ticks(pane)
            .iter()
            .zip(&self.rows)
            .filter(|(t, r)| **t && r.differs() && !r.rel.as_os_str().is_empty())
            .map(|(_, r)| r.rel.clone())
            .collect()
    }

    // --- expand / view -----------------------------------------------------------------------

    pub fn is_expanded(&self, i: usize) -> bool {
        self.expanded[i]
    }
    /// One expansion state per row, shared by both trees: collapsing a folder on one side
    /// collapses it on the other.
    pub fn set_expanded(&mut self, i: usize, open: bool) {
        if self.expanded[i] != open {
            self.expanded[i] = open;
            self.rebuild_visible();
        }
    }
    pub fn expand_all(&mut self, open: bool) {
        for (e, r) in self.expanded.iter_mut().zip(&self.rows) {
            *e = open || r.rel.as_os_str().is_empty();
        }
        self.rebuild_visible();
    }

    /// The filter bar's state: which kinds to show, and a search text matched against each
    /// row's path (case-insensitive). Takes effect with the next [`Tree::set_view`].
    pub fn set_filter(&mut self, kinds_shown: [bool; 8], search: &str) {
        self.kinds_shown = kinds_shown;
        // `/` and `\` are one separator: a path typed either way finds the item on every
        // system.
        let search = search.trim().to_lowercase();
        self.search = if cfg!(windows) {
            search.replace('\\', "/")
        } else {
            search
        };
    }

    /// Rows of each kind, in [`Kind::ALL`]'s order.
    pub fn kind_counts(&self) -> [usize; 8] {
        self.kind_counts
    }

    /// Whether the view hides anything.
    pub fn is_filtered(&self) -> bool {
        self.filtered
    }

    /// Applies the name wildcard (`*.jpg;*.png`, case-insensitive; files only, with the folders
    /// that lead to them), the differences-only view and the filter bar (kinds, search).
    pub fn set_view(&mut self, wildcard: Option<&globset::GlobSet>, differences_only: bool) {
        let n = self.rows.len();
        if n == 0 {
            // Nothing compared yet: nothing to show (the first-use crash was `keep[0]` here).
            self.shown.clear();
            self.visible.clear();
            return;
        }
        let search = self.search.as_str();
        let mut keep = vec![false; n];
        for i in (0..n).rev() {
            let r = &self.rows[i];
            let found = search.is_empty() || {
                let rel = r.rel.to_string_lossy().to_lowercase();
                if cfg!(windows) {
                    rel.replace('\\', "/").contains(search)
                } else {
                    rel.contains(search)
                }
            };
            let kind = self.kinds_shown[r.kind.index()];
            let own = if r.is_dir() || i == 0 {
                // A folder is shown through its contents when a filter is active; on its own
                // only when no name filter applies and it passes the other views.
                wildcard.is_none() && found && kind && (!differences_only || r.differs())
            } else {
                wildcard.is_none_or(|g| g.is_match(r.name.to_lowercase()))
                    && found
                    && kind
                    && (!differences_only || r.differs())
            };
            if own {
                keep[i] = true;
            }
            if keep[i]
                && let Some(p) = r.parent
            {
                keep[p as usize] = true;
            }
        }
        keep[0] = true;
        self.filtered = wildcard.is_some()
            || differences_only
            || !search.is_empty()
            || self.kinds_shown.iter().any(|on| !on);
        self.shown = keep;
        self.rebuild_visible();
    }

    pub fn is_shown(&self, i: usize) -> bool {
        self.shown.get(i).copied().unwrap_or(false)
    }

    fn rebuild_visible(&mut self) {
        let mut v = Vec::with_capacity(self.rows.len().min(1 << 16));
        let mut i = 0;
        while i < self.rows.len() {
            if !self.shown[i] {
                i = self.rows[i].end as usize;
                continue;
            }
            v.push(i as u32);
            if self.rows[i].is_dir() && !self.expanded[i] {
                i = self.rows[i].end as usize;
            } else {
                i += 1;
            }
        }
        self.visible = v;
    }

    /// Counts for the summary bar: differences, missing on the left, missing on the right.
    pub fn counts(&self) -> (usize, usize, usize) {
        self.counts
    }

    fn count_rows(&self) -> (usize, usize, usize) {
        let mut c = (0, 0, 0);
        for r in self.rows.iter().skip(1) {
            if r.differs() {
                c.0 += 1;
            }
            if r.left.is_none() {
                c.1 += 1;
            }
            if r.right.is_none() {
                c.2 += 1;
            }
        }
        c
    }

    /// Orphans of one side: items that exist only there, in tree order.
    pub fn orphans(&self, pane: Pane) -> Vec<usize> {
        (1..self.rows.len())
            .filter(|&i| {
                let r = &self.rows[i];
                r.side(pane).is_some() && r.side(pane.other()).is_none()
            })
            .collect()
    }
}

/// A column to sort by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum SortKey {
    Name,
    Size,
    Created,
    Modified,
}

impl Tree {
    /// Sorts the items of every folder by `key` as seen on `pane` (an item missing there sorts
    /// by the other side's value), keeping each folder's contents right below it. Both trees
    /// share the one row order, so they stay aligned; ticks and expansion move with their rows.
    pub fn sort(&mut self, key: SortKey, pane: Pane, descending: bool) {
        let n = self.rows.len();
        if n < 2 {
            return;
        }
        let mut children: Vec<Vec<u32>> = vec![Vec::new(); n];
        for (i, r) in self.rows.iter().enumerate().skip(1) {
            children[r.parent.unwrap_or(0) as usize].push(i as u32);
        }
        fn side(r: &Row, pane: Pane) -> Option<&Side> {
            r.side(pane).or(r.side(pane.other()))
        }
        // Lower-cased names once per row, not two fresh copies per comparison: a million rows
        // take some twenty million comparisons. (Sorting 1,000,101 rows: 0.22–0.31 s, release.)
        let folded: Vec<String> = self.rows.iter().map(|r| r.name.to_lowercase()).collect();
        for c in &mut children {
            c.sort_by(|&a, &b| {
                let (ra, rb) = (&self.rows[a as usize], &self.rows[b as usize]);
                let (sa, sb) = (side(ra, pane), side(rb, pane));
                let by = match key {
                    SortKey::Name => std::cmp::Ordering::Equal,
                    SortKey::Size => sa.map(|s| s.size).cmp(&sb.map(|s| s.size)),
                    SortKey::Created => sa.and_then(|s| s.created).cmp(&sb.and_then(|s| s.created)),
                    SortKey::Modified => sa
                        .and_then(|s| s.modified)
                        .cmp(&sb.and_then(|s| s.modified)),
                };
                let by = by.then_with(|| {
                    folded[a as usize]
                        .cmp(&folded[b as usize])
                        .then_with(|| ra.name.cmp(&rb.name))
                });
                if descending { by.reverse() } else { by }
            });
        }
        // Pre-order again: each folder, then its (sorted) contents.
        let mut order: Vec<u32> = Vec::with_capacity(n);
        let mut stack = vec![0u32];
        while let Some(i) = stack.pop() {
            order.push(i);
            stack.extend(children[i as usize].iter().rev());
        }
        let mut new_of = vec![0u32; n];
        for (k, &o) in order.iter().enumerate() {
            new_of[o as usize] = k as u32;
        }
        let mut old: Vec<Option<Row>> = std::mem::take(&mut self.rows)
            .into_iter()
            .map(Some)
            .collect();
        let permute = |v: &Vec<bool>| order.iter().map(|&o| v[o as usize]).collect::<Vec<bool>>();
        self.ticked_left = permute(&self.ticked_left);
        self.ticked_right = permute(&self.ticked_right);
        self.expanded = permute(&self.expanded);
        self.shown = permute(&self.shown);
        self.rows = order
            .iter()
            .enumerate()
            .map(|(k, &o)| {
                let mut r = old[o as usize].take().unwrap_or_else(|| unreachable!());
                r.end = k as u32 + (r.end - o);
                r.parent = r.parent.map(|p| new_of[p as usize]);
                r
            })
            .collect();
        self.rebuild_visible();
    }
}

/// Compiles the original app's wildcard (`*.jpg;*.png`), matched case-insensitively against a
/// lower-cased file name. `None` for an empty wildcard.
pub fn compile_wildcard(text: &str) -> Result<Option<globset::GlobSet>, String> {
    let mut b = globset::GlobSetBuilder::new();
    let mut any = false;
    for part in text
        .split([';', ','])
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        let g = globset::GlobBuilder::new(&part.to_lowercase())
            .case_insensitive(true)
            .literal_separator(false)
            .build()
            .map_err(|e| format!("bad wildcard '{part}': {e}"))?;
        b.add(g);
        any = true;
    }
    if !any {
        return Ok(None);
    }
    b.build().map(Some).map_err(|e| e.to_string())
}

/// The plan for copying the ticked items `ticked` in `direction`: what `fcs sync` plans,
/// narrowed by the engine to those items and the folders they need (shown before the copy; the
/// copy itself plans again through the engine's run).
pub fn copy_plan(
    cmp: &Comparison,
    ticked: &[PathBuf],
    direction: Direction,
    target_folds_names: bool,
) -> Result<Plan, engine::Error> {
    let opts = PlanOptions {
        max_delete: 1.0,
        target_folds_names,
        ..PlanOptions::new(direction)
    };
    let mut plan = Plan::build(cmp, &opts)?;
    plan.select(ticked);
    Ok(plan)
}

/// The plan for deleting orphans of `pane` (items that exist only there): a mirror's deletes
/// from the other side, narrowed to the ticked items, deepest first.
pub fn delete_plan(
    cmp: &Comparison,
    pane: Pane,
    ticked: &[PathBuf],
) -> Result<Plan, engine::Error> {
    // Deleting from LEFT means LEFT is the target: a RIGHT → LEFT mirror's deletes.
    let direction = match pane {
        Pane::Left => Direction::RightToLeft,
        Pane::Right => Direction::LeftToRight,
    };
    let opts = PlanOptions {
        delete: true,
        force: true,
        max_delete: 1.0,
        ..PlanOptions::new(direction)
    };
    let mut plan = Plan::build(cmp, &opts)?;
    plan.select_deletes(ticked);
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;
    use engine::tree::{ActionKind, Criteria, Filter};
    use engine::{CancelToken, NullReporter};
    use std::fs;

    fn tree_of(l: &Path, r: &Path) -> (Comparison, Tree) {
        let f = Filter::new(&[], &[], None, false).unwrap();
        let cmp = engine::tree::compare_trees(
            l,
            r,
            &f,
            // Folder times depend on when the fixture was written: leave them out.
            Criteria::parse("existence,size").unwrap(),
            std::time::Duration::from_millis(10),
            2,
            &NullReporter,
            &CancelToken::new(),
        );
        let t = Tree::from_comparison(&cmp, u16::MAX);
        (cmp, t)
    }

    fn fixture() -> (tempfile::TempDir, PathBuf, PathBuf) {
        let d = tempfile::tempdir().unwrap();
        let (l, r) = (d.path().join("L"), d.path().join("R"));
        fs::create_dir_all(l.join("sub/deep")).unwrap();
        for p in [&l, &r] {
            fs::create_dir_all(p.join("sub")).unwrap();
            fs::write(p.join("same.txt"), "same").unwrap();
            fs::write(p.join("sub/same.txt"), "same").unwrap();
        }
        fs::write(l.join("sub/changed.txt"), "left version").unwrap();
        fs::write(r.join("sub/changed.txt"), "right").unwrap();
        fs::write(l.join("sub/deep/only-left.txt"), "x").unwrap();
        fs::write(r.join("only-right.txt"), "y").unwrap();
        (d, l, r)
    }

    #[test]
    fn rows_are_aligned_and_nested() {
        let (_d, l, r) = fixture();
        let (_c, t) = tree_of(&l, &r);
        let rels: Vec<String> = t
            .rows
            .iter()
            .map(|r| r.rel.to_string_lossy().replace('\\', "/"))
            .collect();
        assert_eq!(
            rels,
            [
                "",
                "only-right.txt",
                "same.txt",
                "sub",
                "sub/changed.txt",
                "sub/deep",
                "sub/deep/only-left.txt",
                "sub/same.txt"
            ]
        );
        let sub = t.index_of(Path::new("sub")).unwrap();
        assert_eq!(t.rows[sub].end as usize, t.len());
        assert_eq!(t.rows[sub + 1].parent, Some(sub as u32));
        assert_eq!(t.rows[1].status(Pane::Left), "Missing");
        assert_eq!(t.rows[1].status(Pane::Right), "Only here");
        assert_eq!(t.rows[2].status(Pane::Left), "Same");
    }

    #[test]
    fn ticking_a_folder_ticks_only_its_differences_on_that_side() {
        let (_d, l, r) = fixture();
        let (_c, mut t) = tree_of(&l, &r);
        let sub = t.index_of(Path::new("sub")).unwrap();
        t.tick(sub, Pane::Left);
        let rels: Vec<String> = t
            .ticked_rels(Pane::Left)
            .iter()
            .map(|p| p.to_string_lossy().replace('\\', "/"))
            .collect();
        assert_eq!(
            rels,
            ["sub/changed.txt", "sub/deep", "sub/deep/only-left.txt"]
        );
        assert!(!t.is_ticked(t.index_of(Path::new("sub/same.txt")).unwrap(), Pane::Left));
        assert_eq!(t.ticked_count(Pane::Right), 0, "sides are independent");
        // A missing placeholder cannot be ticked.
        let deep = t.index_of(Path::new("sub/deep")).unwrap();
        t.tick(deep, Pane::Right);
        assert!(!t.is_ticked(deep, Pane::Right));
        // Unticking clears the item, its ancestors and its descendants.
        t.untick(deep, Pane::Left);
        assert!(!t.is_ticked(sub, Pane::Left));
        assert!(!t.is_ticked(deep + 1, Pane::Left));
        assert!(t.is_ticked(
            t.index_of(Path::new("sub/changed.txt")).unwrap(),
            Pane::Left
        ));
    }

    #[test]
    fn the_marked_count_follows_every_tick_and_untick() {
        let (_d, l, r) = fixture();
        let (_c, mut t) = tree_of(&l, &r);
        // Every row ticked then unticked on both sides, in an order that ticks folders over
        // already ticked contents and unticks through ancestors: the kept count always equals
        // a full recount.
        for on in [true, false, true] {
            for i in (0..t.len()).rev().chain(0..t.len()) {
                for pane in [Pane::Left, Pane::Right] {
                    t.set_ticked(i, pane, on);
                    assert_eq!(t.ticked_count(pane), t.count_marked(pane), "row {i}");
                    t.set_ticked(i, pane, !on);
                    assert_eq!(t.ticked_count(pane), t.count_marked(pane), "row {i}");
                }
            }
        }
    }

    /// Before the first Compare the model is empty: every view, tick and sort control, in every
    /// order two of them can come, must leave it empty and never panic (ticking "Differences
    /// only" first crashed the window).
    #[test]
    fn every_control_in_any_order_on_an_empty_model() {
        let glob = compile_wildcard("*.txt").unwrap();
        type Step = (&'static str, Box<dyn Fn(&mut Tree)>);
        let steps: Vec<Step> = vec![
            ("differences only", Box::new(|t| t.set_view(None, true))),
            ("all", Box::new(|t| t.set_view(None, false))),
            ("filter", Box::new(move |t| t.set_view(glob.as_ref(), true))),
            ("expand all", Box::new(|t| t.expand_all(true))),
            ("collapse all", Box::new(|t| t.expand_all(false))),
            (
                "select left",
                Box::new(|t| t.select_all_differences(Pane::Left)),
            ),
            (
                "select right",
                Box::new(|t| t.select_all_differences(Pane::Right)),
            ),
            ("clear left", Box::new(|t| t.clear_all(Pane::Left))),
            (
                "sort",
                Box::new(|t| t.sort(SortKey::Size, Pane::Right, true)),
            ),
            (
                "sort by name",
                Box::new(|t| t.sort(SortKey::Name, Pane::Left, false)),
            ),
        ];
        for (a, first) in &steps {
            for (b, second) in &steps {
                let mut t = Tree::default();
                first(&mut t);
                second(&mut t);
                assert!(t.visible().is_empty(), "{a} then {b}");
                assert!(!t.is_shown(0), "{a} then {b}");
                assert_eq!(t.counts(), (0, 0, 0), "{a} then {b}");
                assert_eq!(t.ticked_count(Pane::Left), 0, "{a} then {b}");
                assert!(t.ticked_rels(Pane::Right).is_empty(), "{a} then {b}");
                assert!(t.orphans(Pane::Left).is_empty(), "{a} then {b}");
            }
        }
    }

    #[test]
    fn collapse_filter_and_differences_only() {
        let (_d, l, r) = fixture();
        let (_c, mut t) = tree_of(&l, &r);
        assert_eq!(t.visible().len(), t.len());
        let sub = t.index_of(Path::new("sub")).unwrap();
        t.set_expanded(sub, false);
        assert_eq!(t.visible().len(), sub + 1);
        t.expand_all(true);
        let g = compile_wildcard("*ONLY*").unwrap();
        t.set_view(g.as_ref(), false);
        let names: Vec<&str> = t
            .visible()
            .iter()
            .map(|&i| t.rows[i as usize].name.as_str())
            .collect();
        assert_eq!(
            names,
            ["", "only-right.txt", "sub", "deep", "only-left.txt"]
        );
        t.set_view(None, true);
        assert!(
            !t.visible()
                .iter()
                .any(|&i| t.rows[i as usize].name == "same.txt")
        );
    }

    #[test]
    fn the_filter_bar_counts_kinds_hides_them_and_searches_paths() {
        let (_d, l, r) = fixture();
        let (_c, mut t) = tree_of(&l, &r);
        let counts = t.kind_counts();
        let n = |k: Kind| counts[k.index()];
        // deep and deep/only-left.txt; only-right.txt; changed.txt; same.txt, sub, sub/same.txt.
        assert_eq!(
            (
                n(Kind::LeftOnly),
                n(Kind::RightOnly),
                n(Kind::Differs),
                n(Kind::Equal)
            ),
            (2, 1, 1, 3)
        );
        assert_eq!(counts.iter().sum::<usize>(), t.len() - 1);
        let sub = t.index_of(Path::new("sub")).unwrap();
        assert!(t.rows[sub].inner_differs, "sub holds differences");
        assert_eq!(t.rows[sub].status(Pane::Left), "Folder, differences inside");
        assert!(!t.is_filtered());
        let mut shown = [true; 8];
        shown[Kind::Equal.index()] = false;
        shown[Kind::LeftOnly.index()] = false;
        t.set_filter(shown, "");
        t.set_view(None, false);
        assert!(t.is_filtered());
        let names: Vec<&str> = t
            .visible()
            .iter()
            .map(|&i| t.rows[i as usize].name.as_str())
            .collect();
        // An equal folder stays as the way to a shown row.
        assert_eq!(names, ["", "only-right.txt", "sub", "changed.txt"]);
        t.set_filter([true; 8], "SUB/SAME");
        t.set_view(None, false);
        let names: Vec<&str> = t
            .visible()
            .iter()
            .map(|&i| t.rows[i as usize].name.as_str())
            .collect();
        assert_eq!(names, ["", "sub", "same.txt"]);
        t.set_filter([true; 8], "");
        t.set_view(None, false);
        assert!(!t.is_filtered());
        assert_eq!(t.visible().len(), t.len());
    }

    #[test]
    fn sorting_keeps_folders_with_their_contents() {
        let (_d, l, r) = fixture();
        let (_c, mut t) = tree_of(&l, &r);
        let changed = t.index_of(Path::new("sub/changed.txt")).unwrap();
        t.tick(changed, Pane::Left);
        t.sort(SortKey::Name, Pane::Left, true);
        let rels: Vec<String> = t
            .rows
            .iter()
            .map(|r| r.rel.to_string_lossy().replace('\\', "/"))
            .collect();
        assert_eq!(
            rels,
            [
                "",
                "sub",
                "sub/same.txt",
                "sub/deep",
                "sub/deep/only-left.txt",
                "sub/changed.txt",
                "same.txt",
                "only-right.txt"
            ]
        );
        let sub = t.index_of(Path::new("sub")).unwrap();
        assert_eq!(t.rows[sub].end, 6);
        assert_eq!(t.rows[3].parent, Some(sub as u32));
        assert!(t.is_ticked(5, Pane::Left), "ticks move with their rows");
        assert_eq!(t.visible().len(), t.len());
    }

    #[test]
    fn copy_plan_narrows_to_ticked_items_and_their_folders() {
        let (_d, l, r) = fixture();
        let (cmp, t) = tree_of(&l, &r);
        let _ = t;
        let plan = copy_plan(
            &cmp,
            &[PathBuf::from("sub/deep/only-left.txt")],
            Direction::LeftToRight,
            false,
        )
        .unwrap();
        let acts: Vec<(ActionKind, String)> = plan
            .actions
            .iter()
            .map(|a| (a.kind, a.rel.to_string_lossy().replace('\\', "/")))
            .collect();
        assert!(acts.contains(&(ActionKind::Mkdir, "sub/deep".into())));
        assert!(acts.contains(&(ActionKind::Copy, "sub/deep/only-left.txt".into())));
        assert!(!acts.iter().any(|a| a.1 == "sub/changed.txt"));
        assert!(acts.contains(&(ActionKind::SetDirTimes, "".into())));
    }

    #[test]
    fn delete_plan_lists_only_ticked_orphans_deepest_first() {
        let (_d, l, r) = fixture();
        let (cmp, t) = tree_of(&l, &r);
        let orphans: Vec<PathBuf> = t
            .orphans(Pane::Left)
            .into_iter()
            .map(|i| t.rows[i].rel.clone())
            .collect();
        let plan = delete_plan(&cmp, Pane::Left, &orphans).unwrap();
        let dels: Vec<String> = plan
            .actions
            .iter()
            .filter(|a| a.kind == ActionKind::Delete)
            .map(|a| a.rel.to_string_lossy().replace('\\', "/"))
            .collect();
        assert_eq!(dels, ["sub/deep/only-left.txt", "sub/deep"]);
        assert_eq!(plan.target_root, cmp.left.root);
    }
}
