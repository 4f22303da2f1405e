//! FolderCompareSync engine: settings, strategy selection, the safe per-file copy, verify, and
//! the progress + cancel contract. No printing, no UI: front ends consume [`Event`]s.
//!
//! ```no_run
//! use std::sync::Arc;
//! use engine::{CancelToken, Copier, NullReporter, Settings};
//!
//! let copier = Copier::new(Settings::default(), Arc::new(NullReporter), CancelToken::new());
//! let report = copier.copy_file("src.bin".as_ref(), "dst.bin".as_ref())?;
//! println!("{} via {}", report.strategy, report.perf.method);
//! # Ok::<(), engine::Error>(())
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod access;
pub mod bench;
pub(crate) mod copy;
pub(crate) mod error;
pub(crate) mod events;
pub(crate) mod hash;
pub mod manifest;
mod meta;
pub(crate) mod moving;
pub(crate) mod pipe;
pub mod remote;
pub mod runlog;
pub(crate) mod settings;
pub(crate) mod stamp;
pub(crate) mod strategy;
pub(crate) mod summary;
pub(crate) mod temp;
pub mod tree;

// The engine's public surface: what the front ends (`fcs`, `fcs-gui`), the test suites and an
// embedding program use. Everything else stays inside the crate.
pub use crate::{
    copy::{Copier, FileReport},
    error::{Code, Error, TempFate, plain_paths},
    events::{
        CancelToken, Event, FnReporter, Notice, NoticeKind, NullReporter, Outcome, Perf, Phase,
        Reporter,
    },
    hash::{hash_path, hashers_created},
    meta::{MetaKind, NotKept},
    settings::{
        DeleteMode, Durability, HashAlgo, SPECS, SettingSpec, Settings, Sparse, StrategyChoice,
        UncPolicy, VerifyPolicy, VerifyRead, format_bytes, parse_bytes,
    },
    strategy::{Decision, Prealloc, ReadBackMode, Strategy, VerifyMode},
    temp::is_temp_name,
    tree::{journal, verify},
};
#[cfg(feature = "test-hooks")]
pub use copy::Hooks;
pub use fsops::DriveKind;

#[cfg(test)]
mod vocabulary {
    //! Every stable name a front end or a `--json` reader can meet is documented in
    //! `docs/vocabulary.md`.

    use crate::tree::{ActionKind, Category, Diffs, ScanIssueKind, TwinKind};

    fn json(v: impl serde::Serialize) -> String {
        serde_json::to_value(v)
            .unwrap()
            .as_str()
            .unwrap()
            .to_string()
    }

    #[test]
    fn every_stable_name_is_documented() {
        let doc = include_str!("../../../docs/vocabulary.md");
        let mut names: Vec<String> = Vec::new();
        names.extend(ActionKind::ALL.iter().map(|k| k.as_str().to_string()));
        names.extend(
            crate::NoticeKind::ALL
                .iter()
                .map(|k| k.as_str().to_string()),
        );
        names.extend(
            fsops::CopyMethod::ALL
                .iter()
                .map(|m| m.as_str().to_string()),
        );
        names.extend(crate::MetaKind::ALL.iter().map(|k| k.as_str().to_string()));
        names.extend(ScanIssueKind::ALL.iter().map(|&k| json(k)));
        names.extend(TwinKind::ALL.iter().map(|&k| json(k)));
        for &c in Category::ALL {
            names.push(json(c));
            names.push(c.as_str().to_string());
        }
        let all = Diffs::PERMISSIONS.names().len() + Diffs::NAME.names().len();
        assert_eq!(all, 2);
        let mut every = Diffs::default();
        for d in [
            Diffs::EXISTENCE,
            Diffs::SIZE,
            Diffs::MODIFIED,
            Diffs::CREATED,
            Diffs::CONTENT,
            Diffs::TYPE,
            Diffs::PERMISSIONS,
            Diffs::NAME,
        ] {
            every.insert(d);
        }
        names.extend(every.names().into_iter().map(str::to_string));
        for s in [
            crate::Strategy::DirectSmall,
            crate::Strategy::DirectLarge,
            crate::Strategy::Staged,
        ] {
            names.push(s.to_string());
        }
        let caps = serde_json::to_value(crate::tree::Capabilities::default()).unwrap();
        names.extend(caps.as_object().unwrap().keys().cloned());
        for n in names {
            assert!(
                doc.contains(&format!("`{n}`")),
                "`{n}` is not documented in docs/vocabulary.md"
            );
        }
    }
}
