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

pub mod access;
pub mod bench;
mod copy;
mod error;
mod events;
mod hash;
pub mod manifest;
mod moving;
mod pipe;
mod settings;
mod stamp;
mod strategy;
mod summary;
mod temp;
pub mod tree;

pub use tree::{journal, verify};

#[cfg(feature = "test-hooks")]
pub use copy::Hooks;
pub use copy::{Copier, FileReport, PendingFile};
pub use error::{Code, Error, TempFate};
pub use events::{
    CancelToken, Event, FnReporter, Notice, NoticeKind, NullReporter, Outcome, Perf, Phase,
    Reporter,
};
pub use fsops::DriveKind;
pub use hash::{Hasher, hash_path, hashers_created, select_hasher};
pub use settings::{
    DeleteMode, Durability, HashAlgo, SPECS, SettingSpec, Settings, StrategyChoice, UncPolicy,
    VerifyPolicy, VerifyRead, format_bytes, parse_bytes,
};
pub use stamp::SourceStamp;
pub use strategy::{Decision, Prealloc, ReadBackMode, Strategy, VerifyMode, select};
pub use temp::{is_temp_name, parse_temp_name};

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
