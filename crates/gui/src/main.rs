//! `fcs-gui [--config FILE] [--compare] [LEFT RIGHT]`: opens the compare-and-sync window.

#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;

use engine::Settings;
use fcs_gui::FcsApp;

fn main() -> ExitCode {
    let mut settings = Settings::default();
    let mut folders: Vec<PathBuf> = Vec::new();
    let mut compare_now = false;
    let mut args = std::env::args_os().skip(1);
    while let Some(a) = args.next() {
        match a.to_str() {
            Some("--help" | "-h") => {
                println!(
                    "usage: fcs-gui [--config FILE] [--compare] [LEFT RIGHT]\n\nOpens the FolderCompareSync window; LEFT and RIGHT prefill the folders.\n--config FILE  applies a settings file (the same TOML as `fcs --config`)\n--compare      compares the two folders as soon as the window opens"
                );
                return ExitCode::SUCCESS;
            }
            Some("--compare") => compare_now = true,
            Some("--config") => {
                let Some(path) = args.next() else {
                    eprintln!("error: --config needs a file");
                    return ExitCode::from(2);
                };
                if let Err(e) = settings.apply_file(path.as_ref()) {
                    eprintln!("error: {e}");
                    return ExitCode::from(2);
                }
            }
            _ => folders.push(PathBuf::from(a)),
        }
    }
    let mut folders = folders.into_iter();
    let (left, right) = (folders.next(), folders.next());
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("FolderCompareSync")
            .with_inner_size([1500.0, 860.0])
            .with_min_inner_size([900.0, 500.0]),
        ..Default::default()
    };
    let result = eframe::run_native(
        "FolderCompareSync",
        options,
        Box::new(move |cc| {
            let mut app = FcsApp::new(cc, settings, left, right);
            if compare_now {
                app.start_compare();
            }
            Ok(Box::new(app))
        }),
    );
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: cannot open the window: {e}");
            ExitCode::FAILURE
        }
    }
}
