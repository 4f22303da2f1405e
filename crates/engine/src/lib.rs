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
    CancelToken, Event, FnReporter, Notice, NullReporter, Outcome, Perf, Phase, Reporter,
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
