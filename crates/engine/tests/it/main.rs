//! The integration tests of the engine, in one test binary (one link, one helper set): each
//! module is a topic.

mod bench;
mod copy;
#[cfg(unix)]
mod sparse;
mod tree;
mod util;
mod windows;
