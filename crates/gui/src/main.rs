//! `fcs-gui [--config FILE] [--compare] [LEFT RIGHT]`: opens the compare-and-sync window.

#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use engine::Settings;
use engine::tree::SavedJob;
use fcs_gui::FcsApp;

/// FolderCompareSync's window: two folder trees side by side, compared, and copied between.
#[derive(Debug, Parser)]
#[command(name = "fcs-gui", version)]
struct Args {
    /// A settings file (the same TOML as `fcs --config`), applied after the user's own
    /// (`fcs settings --path`); a job file's `[job]` table opens its folders, mode and filters.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Compare the two folders as soon as the window opens.
    #[arg(long)]
    compare: bool,
    /// Light or dark colours, or the system's (the default; also switchable in the window).
    #[arg(long, value_enum, default_value = "system")]
    theme: Theme,
    /// The window's first size in logical pixels, e.g. 1280x720.
    #[arg(long, value_name = "WIDTHxHEIGHT", value_parser = parse_size)]
    size: Option<[f32; 2]>,
    /// The folder shown on the left.
    left: Option<PathBuf>,
    /// The folder shown on the right.
    right: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Theme {
    System,
    Light,
    Dark,
}

fn parse_size(s: &str) -> Result<[f32; 2], String> {
    let (w, h) = s
        .split_once(['x', 'X'])
        .ok_or_else(|| format!("'{s}' is not WIDTHxHEIGHT, e.g. 1280x720"))?;
    let n = |v: &str| {
        v.trim()
            .parse::<u16>()
            .ok()
            .filter(|&v| v >= 200)
            .map(f32::from)
            .ok_or_else(|| format!("'{v}' is not a size in pixels (200 or more)"))
    };
    Ok([n(w)?, n(h)?])
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
    // A job file (`[job]` table) opens with its folders, mode and filters.
    let job = match args.config.as_deref().map(SavedJob::read).transpose() {
        Ok(j) => j.flatten(),
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let (left, right, compare_now) = (args.left, args.right, args.compare);
    let theme = match args.theme {
        Theme::System => egui::ThemePreference::System,
        Theme::Light => egui::ThemePreference::Light,
        Theme::Dark => egui::ThemePreference::Dark,
    };
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("FolderCompareSync")
            .with_inner_size(args.size.unwrap_or([1500.0, 860.0]))
            .with_min_inner_size([900.0, 500.0]),
        ..Default::default()
    };
    let result = eframe::run_native(
        "FolderCompareSync",
        options,
        Box::new(move |cc| {
            cc.egui_ctx.set_theme(theme);
            let mut app = FcsApp::new(cc, settings, None, None);
            if let Some(job) = &job {
                app.verify_from_settings();
                app.load_job(job);
            }
            // Folders on the command line win over the job's.
            if let Some(l) = left {
                app.prefs.left = l.display().to_string();
            }
            if let Some(r) = right {
                app.prefs.right = r.display().to_string();
            }
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
