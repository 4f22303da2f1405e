//! The integration tests of `fcs`, in one test binary (one link, one helper set): each module is
//! a topic.

mod bench;
mod cli;
#[cfg(target_os = "linux")]
mod download;
#[cfg(target_os = "linux")]
mod hardlinks;
#[cfg(target_os = "linux")]
mod harness;
mod journal;
#[cfg(target_os = "linux")]
mod metadata;
#[cfg(target_os = "linux")]
mod remote;
#[cfg(target_os = "linux")]
mod sftp;
#[cfg(target_os = "linux")]
mod targets;
mod util;
