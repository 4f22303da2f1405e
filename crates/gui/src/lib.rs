//! `fcs-gui`: the desktop window of FolderCompareSync. Two folder trees side by side with
//! identical rows, ticks with smart selection, copy either way with verification and a two-bar
//! progress dialog, Delete Orphans, and a status log. It talks to the engine only through the
//! engine's public API and events; every long operation runs on a worker thread.

#![forbid(unsafe_code)]

pub mod app;
pub mod kinds;
pub mod model;
pub mod sync;
pub mod worker;

pub use app::{FcsApp, Prefs, VerifyChoice};
pub use model::{Pane, Tree};
