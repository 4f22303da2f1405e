//! Sync modes and the actions they choose for each row. A mode's actions are read from the
//! engine's own plan for it (the same `Plan::build` `fcs sync` uses), so the middle column shows
//! exactly what the engine would do; a row changed by hand stays as chosen. Starting a sync turns
//! the rows' actions back into at most two engine runs (one per direction), each narrowed to the
//! rows' items: the window never runs an action the engine did not plan.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use engine::tree::{ActionKind, Comparison, Direction, EntryKind, Plan, PlanOptions};
use engine::{Code, Error};

use crate::kinds::{Act, Kind};
use crate::model::{Pane, Tree};

/// How the window fills the middle column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Mode {
    /// Copy what is missing or newer one way; never replace a newer item (`fcs sync --update`).
    Update,
    /// Make the other side an exact copy: also replace newer items and delete what the source
    /// lacks (`fcs sync --delete`, to the trash by default).
    Mirror,
    /// Nothing by default: every action is chosen by hand.
    Custom,
}

impl Mode {
    pub const ALL: [Mode; 3] = [Mode::Update, Mode::Mirror, Mode::Custom];

    pub fn label(self) -> &'static str {
        match self {
            Mode::Update => "Update",
            Mode::Mirror => "Mirror",
            Mode::Custom => "Custom",
        }
    }

    pub fn meaning(self) -> &'static str {
        match self {
            Mode::Update => {
                "Copy new and newer items one way; never replace a newer item, never delete"
            }
            Mode::Mirror => {
                "Make the other side an exact copy: replace what differs, delete what the source lacks"
            }
            Mode::Custom => "Choose the action of each row yourself (click the middle column)",
        }
    }
}

/// A mode and its direction (ignored by `Custom`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Rule {
    pub mode: Mode,
    pub from: Pane,
}

impl Default for Rule {
    fn default() -> Rule {
        Rule {
            mode: Mode::Update,
            from: Pane::Left,
        }
    }
}

fn direction(from: Pane) -> Direction {
    match from {
        Pane::Left => Direction::LeftToRight,
        Pane::Right => Direction::RightToLeft,
    }
}

/// What applying a mode found.
#[derive(Debug, Default)]
pub struct Applied {
    /// The mirror's deletes trip the mass-deletion guard: the engine's message. A sync then
    /// needs the user's explicit confirmation (and runs with `force`).
    pub guard: Option<String>,
}

/// Fills every row not chosen by hand with what the engine plans for `rule`.
pub fn apply_mode(
    tree: &mut Tree,
    cmp: &Comparison,
    rule: Rule,
    max_delete: f64,
) -> Result<Applied, Error> {
    let mut out = Applied::default();
    for r in tree.rows.iter_mut().filter(|r| !r.by_hand) {
        r.act = Act::Nothing;
        r.why = None;
    }
    if rule.mode == Mode::Custom || tree.is_empty() {
        return Ok(out);
    }
    let folds = cmp.criteria.fold_case || cmp.criteria.fold_unicode;
    let opts = PlanOptions {
        update: rule.mode == Mode::Update,
        delete: rule.mode == Mode::Mirror,
        max_delete,
        target_folds_names: folds,
        ..PlanOptions::new(direction(rule.from))
    };
    let plan = match Plan::build(cmp, &opts) {
        Err(e) if e.code == Code::PlanMassDelete => {
            out.guard = Some(e.to_string());
            Plan::build(
                cmp,
                &PlanOptions {
                    force: true,
                    ..opts
                },
            )?
        }
        other => other?,
    };
    let index: HashMap<&Path, usize> = tree
        .rows
        .iter()
        .enumerate()
        .map(|(i, r)| (r.rel.as_path(), i))
        .collect();
    let (to, delete) = match rule.from {
        Pane::Left => (Act::ToRight, Act::DeleteRight),
        Pane::Right => (Act::ToLeft, Act::DeleteLeft),
    };
    let mut acts: Vec<(usize, Act)> = Vec::new();
    for a in &plan.actions {
        let Some(&i) = index.get(a.rel.as_path()) else {
            continue;
        };
        let kind = tree.rows[i].kind;
        let act = match a.kind {
            ActionKind::Delete => delete,
            // Folder times are re-applied to every folder a sync touches; a row shows them as
            // its action only where they are the difference.
            ActionKind::SetDirTimes if kind != Kind::MetadataOnly => continue,
            _ => to,
        };
        acts.push((i, act));
    }
    let mut whys: Vec<(usize, Box<str>)> = Vec::new();
    for s in &plan.skipped {
        if let Some(&i) = index.get(s.rel.as_path())
            && tree.rows[i].kind.differs()
        {
            whys.push((i, s.reason.clone().into_boxed_str()));
        }
    }
    let rows = &mut tree.rows;
    for (i, act) in acts {
        if !rows[i].by_hand {
            rows[i].act = act;
        }
    }
    for (i, why) in whys {
        if !rows[i].by_hand && rows[i].act == Act::Nothing {
            rows[i].act = Act::Skip;
            rows[i].why = Some(why);
        }
    }
    // A difference the source side cannot fix one way (newer on the target under Update, or
    // the target's own item) is left alone by the mode: said, not silent.
    for r in rows.iter_mut().skip(1) {
        if !r.by_hand && r.act == Act::Nothing && r.kind.differs() && r.kind != Kind::MetadataOnly {
            let target_only = match rule.from {
                Pane::Left => r.kind == Kind::RightOnly,
                Pane::Right => r.kind == Kind::LeftOnly,
            };
            if !target_only || rule.mode == Mode::Mirror {
                r.act = Act::Skip;
                if r.why.is_none() {
                    r.why = Some(skip_reason(r.kind, rule).into());
                }
            }
        }
    }
    Ok(out)
}

fn skip_reason(k: Kind, rule: Rule) -> &'static str {
    match (k, rule.from) {
        (Kind::RightNewer, Pane::Left) | (Kind::LeftNewer, Pane::Right) => {
            "The target is newer: Update never replaces a newer item"
        }
        (Kind::TypeConflict, _) => "Another type on the target: only Mirror replaces it",
        _ => "This mode leaves it as it is",
    }
}

/// The rows' actions as the engine runs them, with the preview's totals.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Batch {
    /// Items copied left → right, and right-side items deleted (one run LEFT → RIGHT).
    pub to_right: Vec<PathBuf>,
    pub delete_right: Vec<PathBuf>,
    /// Items copied right → left, and left-side items deleted (one run RIGHT → LEFT).
    pub to_left: Vec<PathBuf>,
    pub delete_left: Vec<PathBuf>,
    /// Files and bytes copied each way: [to the right, to the left].
    pub files: [u64; 2],
    pub bytes: [u64; 2],
    /// Newer items an older one replaces (their paths), which need the user's confirmation.
    pub newer_replaced: Vec<PathBuf>,
}

impl Batch {
    /// Collects the rows' actions.
    pub fn of(tree: &Tree) -> Batch {
        let mut b = Batch::default();
        for r in tree.rows.iter().skip(1) {
            let (list, k, source) = match r.act {
                Act::ToRight => (&mut b.to_right, 0, r.left.as_ref()),
                Act::ToLeft => (&mut b.to_left, 1, r.right.as_ref()),
                Act::DeleteRight => {
                    b.delete_right.push(r.rel.clone());
                    continue;
                }
                Act::DeleteLeft => {
                    b.delete_left.push(r.rel.clone());
                    continue;
                }
                Act::Nothing | Act::Skip => continue,
            };
            list.push(r.rel.clone());
            if let Some(s) = source
                && s.kind == EntryKind::File
                && r.kind != Kind::MetadataOnly
            {
                b.files[k] += 1;
                b.bytes[k] += s.size;
            }
            if matches!(
                (r.act, r.kind),
                (Act::ToRight, Kind::RightNewer) | (Act::ToLeft, Kind::LeftNewer)
            ) {
                b.newer_replaced.push(r.rel.clone());
            }
        }
        b
    }

    pub fn is_empty(&self) -> bool {
        self.to_right.is_empty()
            && self.to_left.is_empty()
            && self.delete_left.is_empty()
            && self.delete_right.is_empty()
    }

    /// Items the sync deletes, both sides.
    pub fn deletes(&self) -> usize {
        self.delete_left.len() + self.delete_right.len()
    }
}

/// One engine run of a batch: the source side, what it copies and what it deletes on the target.
#[derive(Debug, Clone)]
pub struct Leg {
    pub from: Pane,
    pub copies: Vec<PathBuf>,
    pub deletes: Vec<PathBuf>,
}

impl Batch {
    /// The runs, left → right first: at most one per direction.
    pub fn legs(&self) -> Vec<Leg> {
        let mut legs = Vec::new();
        if !self.to_right.is_empty() || !self.delete_right.is_empty() {
            legs.push(Leg {
                from: Pane::Left,
                copies: self.to_right.clone(),
                deletes: self.delete_right.clone(),
            });
        }
        if !self.to_left.is_empty() || !self.delete_left.is_empty() {
            legs.push(Leg {
                from: Pane::Right,
                copies: self.to_left.clone(),
                deletes: self.delete_left.clone(),
            });
        }
        legs
    }
}

impl Tree {
    /// Sets the action of row `i` by hand; on a folder, also of every row beneath it that can
    /// take that action (so "copy this folder to the right" covers its contents).
    pub fn set_act(&mut self, i: usize, act: Act) {
        if !self.choices(i).contains(&act) {
            return;
        }
        let end = self.rows[i].end as usize;
        for (j, r) in self.rows[i..end].iter_mut().enumerate() {
            let fits = if self.remote_right {
                Act::choices_to_remote(r.kind)
            } else {
                Act::choices(r.kind)
            };
            if j == 0 || (r.kind.differs() && fits.contains(&act)) {
                r.act = act;
                r.by_hand = true;
                r.why = None;
            }
        }
        self.by_hand = self.rows.iter().filter(|r| r.by_hand).count();
    }

    /// The actions a click on row `i` cycles through: a folder offers both directions when
    /// anything beneath it differs.
    pub fn choices(&self, i: usize) -> &'static [Act] {
        let r = &self.rows[i];
        let kind = if r.is_dir()
            && r.inner_differs
            && matches!(r.kind, Kind::Equal | Kind::MetadataOnly)
        {
            Kind::Differs
        } else {
            r.kind
        };
        if self.remote_right {
            Act::choices_to_remote(kind)
        } else {
            Act::choices(kind)
        }
    }

    /// The next action of a click on row `i`.
    pub fn next_act(&self, i: usize) -> Act {
        let c = self.choices(i);
        match c.iter().position(|&a| a == self.rows[i].act) {
            Some(k) => c[(k + 1) % c.len()],
            None => c[0],
        }
    }

    /// Rows whose action was chosen by hand (counted when they change, not per frame: the
    /// mode bar shows it on every frame of a million-row tree).
    pub fn by_hand_count(&self) -> usize {
        self.by_hand
    }

    /// Forgets every action chosen by hand (the mode's come back with the next `apply_mode`).
    pub fn reset_by_hand(&mut self) {
        for r in &mut self.rows {
            r.by_hand = false;
        }
        self.by_hand = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use engine::tree::{Criteria, Filter};
    use engine::{CancelToken, NullReporter};
    use std::fs;
    use std::time::{Duration, SystemTime};

    /// LEFT: new.txt (left only), newer.txt (left newer), older.txt (right newer), dir/a.txt
    /// (left only, in a left-only folder); RIGHT: extra.txt (right only), and the other two.
    fn fixture() -> (tempfile::TempDir, Comparison, Tree) {
        let d = tempfile::tempdir().unwrap();
        let (l, r) = (d.path().join("L"), d.path().join("R"));
        fs::create_dir_all(l.join("dir")).unwrap();
        fs::create_dir_all(&r).unwrap();
        let t0 = SystemTime::now() - Duration::from_secs(3600);
        let write = |p: PathBuf, body: &str, t: SystemTime| {
            fs::write(&p, body).unwrap();
            fs::File::options()
                .write(true)
                .open(&p)
                .unwrap()
                .set_modified(t)
                .unwrap();
        };
        let later = t0 + Duration::from_secs(60);
        write(l.join("new.txt"), "new", t0);
        write(l.join("dir/a.txt"), "a", t0);
        write(l.join("newer.txt"), "newer!", later);
        write(r.join("newer.txt"), "old", t0);
        write(l.join("older.txt"), "old", t0);
        write(r.join("older.txt"), "newer!", later);
        write(r.join("extra.txt"), "extra", t0);
        let f = Filter::new(&[], &[], None, false).unwrap();
        let cmp = engine::tree::compare_trees(
            &l,
            &r,
            &f,
            Criteria::parse("existence,size,modified").unwrap(),
            Duration::from_millis(10),
            2,
            &NullReporter,
            &CancelToken::new(),
        );
        let t = Tree::from_comparison(&cmp, u16::MAX);
        (d, cmp, t)
    }

    fn act(t: &Tree, rel: &str) -> Act {
        t.rows[t.index_of(Path::new(rel)).unwrap()].act
    }

    #[test]
    fn update_copies_new_and_newer_and_leaves_a_newer_target_alone() {
        let (_d, cmp, mut t) = fixture();
        let a = apply_mode(&mut t, &cmp, Rule::default(), 0.5).unwrap();
        assert!(a.guard.is_none());
        assert_eq!(act(&t, "new.txt"), Act::ToRight);
        assert_eq!(act(&t, "dir"), Act::ToRight);
        assert_eq!(act(&t, "dir/a.txt"), Act::ToRight);
        assert_eq!(act(&t, "newer.txt"), Act::ToRight);
        assert_eq!(act(&t, "older.txt"), Act::Skip);
        let i = t.index_of(Path::new("older.txt")).unwrap();
        assert!(
            t.rows[i].why.as_deref().unwrap().contains("newer"),
            "{:?}",
            t.rows[i].why
        );
        assert_eq!(act(&t, "extra.txt"), Act::Nothing, "update never deletes");
        let b = Batch::of(&t);
        assert_eq!(b.files, [3, 0]);
        assert!(b.newer_replaced.is_empty() && b.deletes() == 0);
        assert_eq!(b.legs().len(), 1);
    }

    #[test]
    fn mirror_replaces_and_deletes_and_a_row_changed_by_hand_stays() {
        let (_d, cmp, mut t) = fixture();
        let mirror = Rule {
            mode: Mode::Mirror,
            from: Pane::Left,
        };
        apply_mode(&mut t, &cmp, mirror, 0.5).unwrap();
        assert_eq!(act(&t, "older.txt"), Act::ToRight);
        assert_eq!(act(&t, "extra.txt"), Act::DeleteRight);
        let b = Batch::of(&t);
        assert_eq!(b.newer_replaced, [PathBuf::from("older.txt")]);
        assert_eq!(b.delete_right, [PathBuf::from("extra.txt")]);
        // By hand: keep extra.txt by copying it to the left instead, and leave dir alone.
        let i = t.index_of(Path::new("extra.txt")).unwrap();
        assert_eq!(t.next_act(i), Act::Nothing);
        t.set_act(i, Act::ToLeft);
        let dir = t.index_of(Path::new("dir")).unwrap();
        t.set_act(dir, Act::Nothing);
        assert_eq!(
            act(&t, "dir/a.txt"),
            Act::Nothing,
            "a folder's choice covers its contents"
        );
        assert_eq!(t.by_hand_count(), 3);
        // Switching the mode keeps what was chosen by hand.
        apply_mode(&mut t, &cmp, Rule::default(), 0.5).unwrap();
        assert_eq!(act(&t, "extra.txt"), Act::ToLeft);
        assert_eq!(act(&t, "dir/a.txt"), Act::Nothing);
        assert_eq!(act(&t, "older.txt"), Act::Skip);
        let legs = Batch::of(&t).legs();
        assert_eq!(legs.len(), 2);
        assert_eq!(
            (legs[1].from, legs[1].copies.clone()),
            (Pane::Right, vec![PathBuf::from("extra.txt")])
        );
        t.reset_by_hand();
        apply_mode(&mut t, &cmp, Rule::default(), 0.5).unwrap();
        assert_eq!(act(&t, "extra.txt"), Act::Nothing);
        assert_eq!(act(&t, "dir/a.txt"), Act::ToRight);
    }

    #[test]
    fn a_mirror_past_the_deletion_limit_is_planned_and_flagged() {
        let (d, _, _) = fixture();
        let (l, r) = (d.path().join("L"), d.path().join("R"));
        for k in 0..12 {
            fs::write(r.join(format!("stray{k}.txt")), "x").unwrap();
        }
        let f = Filter::new(&[], &[], None, false).unwrap();
        let cmp = engine::tree::compare_trees(
            &l,
            &r,
            &f,
            Criteria::parse("existence,size").unwrap(),
            Duration::from_millis(10),
            2,
            &NullReporter,
            &CancelToken::new(),
        );
        let mut t = Tree::from_comparison(&cmp, u16::MAX);
        let mirror = Rule {
            mode: Mode::Mirror,
            from: Pane::Left,
        };
        let a = apply_mode(&mut t, &cmp, mirror, 0.5).unwrap();
        let guard = a.guard.expect("13 of 15 entries deleted trips the guard");
        assert!(guard.contains("PLAN_E_MASS_DELETE"), "{guard}");
        // Still shown, so the user sees what would go before confirming.
        assert_eq!(act(&t, "stray0.txt"), Act::DeleteRight);
        assert_eq!(Batch::of(&t).delete_right.len(), 13);
        // Right to left deletes only the left's three: under the floor of 10.
        let back = Rule {
            mode: Mode::Mirror,
            from: Pane::Right,
        };
        assert!(apply_mode(&mut t, &cmp, back, 0.5).unwrap().guard.is_none());
        assert_eq!(act(&t, "new.txt"), Act::DeleteLeft);
        assert_eq!(act(&t, "stray0.txt"), Act::ToLeft);
    }
}
