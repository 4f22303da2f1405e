//! `fcs-gui [--config FILE] [--compare] [LEFT RIGHT]`: opens the compare-and-sync window.

#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use engine::Settings;
use fcs_gui::FcsApp;

/// FolderCompareSync's window: two folder trees side by side, compared, and copied between.
#[derive(Debug, Parser)]
#[command(name = "fcs-gui", version)]
struct Args {
    /// A settings file (the same TOML as `fcs --config`), applied after the user's own
    /// (`fcs settings --path`).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Compare the two folders as soon as the window opens.
    #[arg(long)]
    compare: bool,
    /// The folder shown on the left.
    left: Option<PathBuf>,
    /// The folder shown on the right.
    right: Option<PathBuf>,
}

fn main() -> ExitCode {
    // --help and --version answer here, on the terminal, before any window or display.
    let args = Args::parse();
    let settings = Settings::with_user_file().and_then(|mut s| {
        if let Some(path) = &args.config {
            s.apply_file(path)?;
        }
        Ok(s)
    });
    let settings = match settings {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let (left, right, compare_now) = (args.left, args.right, args.compare);
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
