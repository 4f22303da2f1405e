//! Measures the window with a tree of about a million rows, headless (egui_kittest, no renderer):
//! building the rows, plain frames, scrolling, and the one-off operations (expand all, collapse
//! all, ticking a folder, filter, sort, differences only). Run it optimised:
//!
//! ```text
//! cargo run --release -p fcs-gui --example million [FOLDERS [FILES_PER_FOLDER]]
//! ```
//!
//! Figures are wall-clock times of one `Harness::step` (one egui frame plus the accessibility
//! tree kittest keeps), so they are an upper bound on what a real frame costs before painting.

#[path = "../tests/support/million.rs"]
mod million;

use std::time::{Duration, Instant};

use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use engine::Settings;
use fcs_gui::{FcsApp, Pane, Tree};

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

/// Runs one frame and returns its time.
fn frame(h: &mut Harness<'static, FcsApp>) -> Duration {
    let t = Instant::now();
    h.step();
    t.elapsed()
}

/// The slowest and the mean of `n` plain frames.
fn frames(h: &mut Harness<'static, FcsApp>, n: usize) -> (Duration, Duration) {
    let times: Vec<Duration> = (0..n).map(|_| frame(h)).collect();
    let max = times.iter().max().copied().unwrap_or_default();
    (max, times.iter().sum::<Duration>() / n as u32)
}

fn report(what: &str, h: &mut Harness<'static, FcsApp>, first: Duration) {
    let (max, mean) = frames(h, 10);
    println!(
        "{what:<34} first frame {:>9}   then max {:>8}, mean {:>8}   visible rows {}",
        ms(first),
        ms(max),
        ms(mean),
        h.state().tree().visible().len()
    );
}

fn main() {
    let mut args = std::env::args().skip(1);
    let folders: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1000);
    let files: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1000);
    let dir = tempfile::tempdir().expect("temp dir");
    let (left, right) = (dir.path().join("L"), dir.path().join("R"));
    std::fs::create_dir_all(&left).expect("LEFT");
    std::fs::create_dir_all(&right).expect("RIGHT");

    let t = Instant::now();
    let cmp = million::comparison(&left, &right, folders, files);
    println!(
        "synthetic comparison: {} items in {}",
        cmp.items.len(),
        ms(t.elapsed())
    );
    let t = Instant::now();
    let tree = Tree::from_comparison(&cmp, 2);
    println!(
        "Tree::from_comparison: {} rows in {}",
        tree.len(),
        ms(t.elapsed())
    );
    drop(tree);

    let mut h = Harness::builder()
        .with_size([1500.0, 900.0])
        .build_eframe(|cc| FcsApp::new(cc, Settings::default(), None, None));
    h.run();
    let t = Instant::now();
    h.state_mut().show_comparison(cmp, Duration::from_millis(1));
    println!("show_comparison (rows, view, counts): {}", ms(t.elapsed()));
    let first = frame(&mut h);
    report("loaded (open two levels deep)", &mut h, first);

    h.get_by_label("Expand All").click();
    let first = frame(&mut h);
    report("Expand All", &mut h, first);

    // Mouse-wheel scrolling over the trees, a page at a time.
    h.hover_at(egui::pos2(700.0, 500.0));
    let mut scroll = Vec::new();
    for _ in 0..20 {
        h.event(egui::Event::MouseWheel {
            unit: egui::MouseWheelUnit::Page,
            delta: egui::vec2(0.0, -1.0),
            phase: egui::TouchPhase::Move,
            source: egui::MouseWheelSource::Wheel,
            modifiers: egui::Modifiers::NONE,
        });
        scroll.push(frame(&mut h));
    }
    let max = scroll.iter().max().copied().unwrap_or_default();
    println!(
        "{:<34} max {:>8}, mean {:>8}",
        "scroll a page (20 times)",
        ms(max),
        ms(scroll.iter().sum::<Duration>() / scroll.len() as u32)
    );

    h.key_press(egui::Key::End);
    let first = frame(&mut h);
    report("End (last row)", &mut h, first);
    h.key_press(egui::Key::Home);
    let first = frame(&mut h);
    report("Home (first row)", &mut h, first);

    // The first folder's LEFT checkbox: its differing files are ticked.
    h.get_all_by_label("d0000").next().expect("d0000").click();
    let first = frame(&mut h);
    report("tick folder d0000", &mut h, first);
    println!(
        "  ticked LEFT: {}",
        h.state().tree().ticked_count(Pane::Left)
    );

    h.get_by_label("Select All Differences LEFT").click();
    let first = frame(&mut h);
    report("Select All Differences LEFT", &mut h, first);

    h.state_mut().prefs.filter = "*7.bin".into();
    h.get_by_label("Apply").click();
    let first = frame(&mut h);
    report("filter *7.bin", &mut h, first);
    h.get_by_label("Clear").click();
    let first = frame(&mut h);
    report("clear filter", &mut h, first);

    h.get_by_label("Mirror").click();
    let first = frame(&mut h);
    report("mode Mirror (the engine's plan)", &mut h, first);
    h.get_by_label("Update").click();
    let first = frame(&mut h);
    report("mode Update", &mut h, first);
    h.get_by_label_contains("= Equal").click();
    let first = frame(&mut h);
    report("hide Equal (filter bar)", &mut h, first);
    h.get_by_label_contains("= Equal").click();
    let first = frame(&mut h);
    report("show Equal again", &mut h, first);

    h.get_by_label("Differences only").click();
    let first = frame(&mut h);
    report("differences only on", &mut h, first);
    h.get_by_label("Differences only").click();
    let first = frame(&mut h);
    report("differences only off", &mut h, first);

    // The LEFT tree's "Size" header (the RIGHT tree has one too; "Size" is also a compare
    // criterion's checkbox).
    h.get_all_by_role_and_label(Role::Button, "Size")
        .next()
        .expect("Size")
        .click();
    let first = frame(&mut h);
    report("sort by LEFT Size", &mut h, first);
    let t = h.state().tree();
    println!(
        "  first rows: {:?}",
        t.rows.iter().take(4).map(|r| &r.name).collect::<Vec<_>>()
    );
    h.get_by_label("LEFT Name").click();
    let first = frame(&mut h);
    report("sort by LEFT Name", &mut h, first);

    h.get_by_label("Collapse All").click();
    let first = frame(&mut h);
    report("Collapse All", &mut h, first);

    // One folder opened by its toggle (the first "⏵" after the root rows).
    h.get_all_by_label("⏵")
        .next()
        .expect("a closed folder")
        .click();
    let first = frame(&mut h);
    report("expand one folder", &mut h, first);
}
