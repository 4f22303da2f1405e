//! The grid's vocabulary: what a row is (its [`Kind`], read from the comparison) and what a sync
//! will do with it (its [`Act`]), each with the words, icon and colour the window shows. Kept
//! apart from drawing so the words are tested and every part of the window says the same.

use egui::Color32;
use engine::tree::{Category, Diffs, EntryKind};

/// What a row of the comparison is, in the grid's categories (the view filter's buttons).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    LeftOnly,
    RightOnly,
    LeftNewer,
    RightNewer,
    /// Both are files (or links) that differ, neither newer: size, content or created time.
    Differs,
    /// A file on one side, a folder or link on the other.
    TypeConflict,
    /// Same content; only times of a folder, permissions, owner, attributes or the name's case.
    MetadataOnly,
    Equal,
}

impl Kind {
    /// Every kind, in the filter bar's order.
    pub const ALL: [Kind; 8] = [
        Kind::LeftOnly,
        Kind::RightOnly,
        Kind::LeftNewer,
        Kind::RightNewer,
        Kind::Differs,
        Kind::TypeConflict,
        Kind::MetadataOnly,
        Kind::Equal,
    ];

    /// The kind of a row: the engine's category, with type conflicts and folder times told
    /// apart from content changes.
    pub fn of(
        category: Category,
        diffs: Diffs,
        left: Option<EntryKind>,
        right: Option<EntryKind>,
    ) -> Kind {
        match category {
            Category::LeftOnly => Kind::LeftOnly,
            Category::RightOnly => Kind::RightOnly,
            Category::Same => Kind::Equal,
            Category::MetadataOnly => Kind::MetadataOnly,
            _ if diffs.contains(Diffs::TYPE) || left != right => Kind::TypeConflict,
            // Two folders differ only by their times: nothing inside them is copied for it.
            _ if left == Some(EntryKind::Dir) => Kind::MetadataOnly,
            Category::LeftNewer => Kind::LeftNewer,
            Category::RightNewer => Kind::RightNewer,
            Category::Different => Kind::Differs,
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }

    /// The filter bar's words.
    pub fn label(self) -> &'static str {
        match self {
            Kind::LeftOnly => "Left only",
            Kind::RightOnly => "Right only",
            Kind::LeftNewer => "Left newer",
            Kind::RightNewer => "Right newer",
            Kind::Differs => "Different",
            Kind::TypeConflict => "Type conflict",
            Kind::MetadataOnly => "Metadata only",
            Kind::Equal => "Equal",
        }
    }

    /// A one-glyph mark for the middle column and the filter bar.
    pub fn icon(self) -> &'static str {
        match self {
            Kind::LeftOnly => "◀",
            Kind::RightOnly => "▶",
            Kind::LeftNewer => "⏪",
            Kind::RightNewer => "⏩",
            Kind::Differs => "≠",
            Kind::TypeConflict => "⚠",
            Kind::MetadataOnly => "≈",
            Kind::Equal => "=",
        }
    }

    /// What the kind means, for the hover text.
    pub fn meaning(self) -> &'static str {
        match self {
            Kind::LeftOnly => "Exists only on the left",
            Kind::RightOnly => "Exists only on the right",
            Kind::LeftNewer => "Differs; the left one was modified later",
            Kind::RightNewer => "Differs; the right one was modified later",
            Kind::Differs => "Differs in size, content or creation time; neither is newer",
            Kind::TypeConflict => "A file on one side, a folder or link on the other",
            Kind::MetadataOnly => {
                "Same content; only folder times, permissions, owner, attributes or the name's case differ"
            }
            Kind::Equal => "Nothing compared differs",
        }
    }

    /// The kind's colour, readable on light and dark backgrounds.
    pub fn color(self) -> Color32 {
        match self {
            Kind::LeftOnly => Color32::from_rgb(46, 160, 67),
            Kind::RightOnly => Color32::from_rgb(56, 132, 230),
            Kind::LeftNewer => Color32::from_rgb(26, 160, 150),
            Kind::RightNewer => Color32::from_rgb(150, 110, 230),
            Kind::Differs => Color32::from_rgb(230, 140, 30),
            Kind::TypeConflict => Color32::from_rgb(225, 60, 60),
            Kind::MetadataOnly => Color32::from_rgb(170, 150, 60),
            Kind::Equal => Color32::GRAY,
        }
    }

    pub fn differs(self) -> bool {
        self != Kind::Equal
    }
}

/// What a sync does with one row: the middle column's action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Act {
    /// Leave it as it is.
    #[default]
    Nothing,
    /// Copy the left item to the right (or, for metadata only, apply the left's metadata).
    ToRight,
    /// Copy the right item to the left.
    ToLeft,
    /// Delete the left item (it has no counterpart).
    DeleteLeft,
    /// Delete the right item.
    DeleteRight,
    /// The mode leaves a difference alone on purpose (a newer target under Update, a type
    /// conflict without Mirror); the reason is on hover.
    Skip,
}

impl Act {
    /// The middle column's glyph.
    pub fn icon(self) -> &'static str {
        match self {
            Act::Nothing => "·",
            Act::ToRight => "➡",
            Act::ToLeft => "⬅",
            Act::DeleteLeft => "🗑◀",
            Act::DeleteRight => "▶🗑",
            Act::Skip => "⊗",
        }
    }

    /// The action in words for a row of kind `k` (hover text and the preview).
    pub fn words(self, k: Kind) -> &'static str {
        match (self, k) {
            (Act::Nothing, Kind::Equal) => "Equal: nothing to do",
            (Act::Nothing, _) => "Leave as it is",
            (Act::ToRight, Kind::MetadataOnly) => "Update the right's metadata from the left",
            (Act::ToLeft, Kind::MetadataOnly) => "Update the left's metadata from the right",
            (Act::ToRight, Kind::LeftOnly) => "Copy to the right",
            (Act::ToLeft, Kind::RightOnly) => "Copy to the left",
            (Act::ToRight, Kind::RightNewer) => {
                "Replace the NEWER right item with the older left one"
            }
            (Act::ToLeft, Kind::LeftNewer) => {
                "Replace the NEWER left item with the older right one"
            }
            (Act::ToRight, _) => "Copy to the right, replacing its version",
            (Act::ToLeft, _) => "Copy to the left, replacing its version",
            (Act::DeleteLeft, _) => "Delete on the left",
            (Act::DeleteRight, _) => "Delete on the right",
            (Act::Skip, _) => "Left alone by this mode",
        }
    }

    /// The actions a row of kind `k` can take, in the order a click cycles through them.
    pub fn choices(k: Kind) -> &'static [Act] {
        match k {
            Kind::LeftOnly => &[Act::ToRight, Act::DeleteLeft, Act::Nothing],
            Kind::RightOnly => &[Act::ToLeft, Act::DeleteRight, Act::Nothing],
            Kind::Equal => &[Act::Nothing],
            _ => &[Act::ToRight, Act::ToLeft, Act::Nothing],
        }
    }

    /// [`Act::choices`] where the right side is a remote location, which is written to and
    /// never read from as a source: nothing goes to the left — no [`Act::ToLeft`], and no
    /// [`Act::DeleteLeft`] (a run that deletes on the left has the right as its source).
    pub fn choices_to_remote(k: Kind) -> &'static [Act] {
        match k {
            Kind::LeftOnly => &[Act::ToRight, Act::Nothing],
            Kind::RightOnly => &[Act::DeleteRight, Act::Nothing],
            Kind::Equal => &[Act::Nothing],
            _ => &[Act::ToRight, Act::Nothing],
        }
    }

    /// The next action of a click on a row of kind `k` (a skipped row starts the cycle).
    pub fn next(self, k: Kind) -> Act {
        let c = Act::choices(k);
        match c.iter().position(|&a| a == self) {
            Some(i) => c[(i + 1) % c.len()],
            None => c[0],
        }
    }

    /// Whether the action writes anything.
    pub fn changes(self) -> bool {
        !matches!(self, Act::Nothing | Act::Skip)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_tell_type_conflicts_and_folder_times_apart() {
        let (f, d, l) = (
            Some(EntryKind::File),
            Some(EntryKind::Dir),
            Some(EntryKind::Symlink),
        );
        assert_eq!(
            Kind::of(Category::Different, Diffs::TYPE, f, d),
            Kind::TypeConflict
        );
        assert_eq!(
            Kind::of(Category::LeftNewer, Diffs::MODIFIED, f, l),
            Kind::TypeConflict
        );
        assert_eq!(
            Kind::of(Category::Different, Diffs::MODIFIED, d, d),
            Kind::MetadataOnly
        );
        assert_eq!(
            Kind::of(Category::LeftNewer, Diffs::MODIFIED, f, f),
            Kind::LeftNewer
        );
        assert_eq!(
            Kind::of(Category::Different, Diffs::SIZE, f, f),
            Kind::Differs
        );
        assert_eq!(
            Kind::of(Category::LeftOnly, Diffs::EXISTENCE, f, None),
            Kind::LeftOnly
        );
        assert_eq!(
            Kind::of(Category::Same, Diffs::default(), f, f),
            Kind::Equal
        );
    }

    #[test]
    fn a_click_cycles_through_what_the_row_can_do() {
        assert_eq!(Act::Skip.next(Kind::RightNewer), Act::ToRight);
        assert_eq!(Act::ToRight.next(Kind::RightNewer), Act::ToLeft);
        assert_eq!(Act::Nothing.next(Kind::RightNewer), Act::ToRight);
        assert_eq!(Act::ToRight.next(Kind::LeftOnly), Act::DeleteLeft);
        assert_eq!(Act::DeleteLeft.next(Kind::LeftOnly), Act::Nothing);
        assert_eq!(Act::Nothing.next(Kind::Equal), Act::Nothing);
        for k in Kind::ALL {
            for &a in Act::choices(k) {
                // A row never offers to copy from a side where it does not exist.
                assert!(!(k == Kind::LeftOnly && a == Act::ToLeft));
                assert!(!(k == Kind::RightOnly && a == Act::ToRight));
                assert!(!a.changes() || k != Kind::Equal);
            }
            // Towards a remote right side: a subset, and nothing that runs from the right.
            for a in Act::choices_to_remote(k) {
                assert!(Act::choices(k).contains(a), "{k:?} {a:?}");
                assert!(!matches!(a, Act::ToLeft | Act::DeleteLeft), "{k:?} {a:?}");
            }
        }
        assert_eq!(
            Act::ToRight.words(Kind::RightNewer),
            "Replace the NEWER right item with the older left one"
        );
    }
}
