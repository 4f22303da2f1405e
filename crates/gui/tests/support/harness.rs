//! The window under test, shared by the kittest suites: built on two folders with given
//! settings, and stepped until its background jobs end.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use egui_kittest::Harness;
use engine::Settings;
use fcs_gui::FcsApp;

/// The app on `left` and `right`, its journals and locks in a temp folder of this process.
pub fn harness(left: PathBuf, right: PathBuf, settings: Settings) -> Harness<'static, FcsApp> {
    // Journals and locks of these runs stay out of the user's data folder.
    engine::journal::set_data_dir(testkit::process_data_dir("gui"));
    let mut h = Harness::builder()
        .with_size([1500.0, 900.0])
        .build_eframe(move |cc| {
            let mut app = FcsApp::new(cc, settings, Some(left), Some(right));
            // Folder times depend on when the fixture was written; compare what the tests
            // control.
            app.prefs.by_modified = false;
            app
        });
    h.run();
    h
}

/// Steps frames until no job runs (the worker wakes the UI through `request_repaint`).
pub fn wait_idle(h: &mut Harness<'static, FcsApp>) {
    let deadline = Instant::now() + Duration::from_secs(120);
    h.step();
    while h.state().is_busy() {
        assert!(Instant::now() < deadline, "the job did not finish");
        std::thread::sleep(Duration::from_millis(5));
        h.step();
    }
    // Settle the frames that follow (a re-compare starts here and is waited for too).
    for _ in 0..3 {
        h.step();
    }
    if h.state().is_busy() {
        wait_idle(h);
    }
}
