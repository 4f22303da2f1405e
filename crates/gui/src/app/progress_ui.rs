//! The progress window of a copy, sync or delete: bytes including the verify, files done and
//! in flight, speed, time left and Cancel.

use engine::{Phase, format_bytes};

use super::{FcsApp, plural};
use crate::worker::JobKind;

impl FcsApp {
    pub(super) fn progress_ui(&mut self, ctx: &egui::Context) {
        let Some(job) = &self.job else { return };
        if job.kind == JobKind::Compare {
            return;
        }
        let title = match job.kind {
            JobKind::Copy => "Copying",
            JobKind::Sync => "Synchronizing",
            _ => "Deleting",
        };
        let p = &self.progress;
        let elapsed = job.started.elapsed();
        let verifies = self.settings.verify_policy != engine::VerifyPolicy::None;
        let mut cancel = false;
        egui::Modal::new(egui::Id::unique("progress")).show(ctx, |ui| {
            ui.set_width(520.0);
            ui.heading(title);
            if matches!(job.kind, JobKind::Copy | JobKind::Sync) {
                let in_flight_copied: u64 = p
                    .in_flight
                    .values()
                    .map(|f| {
                        if f.phase == Phase::Copy {
                            f.done
                        } else {
                            f.size
                        }
                    })
                    .sum();
                let done = (p.bytes_done + in_flight_copied).min(p.bytes_total);
                let (work, work_total) = p.work(verifies);
                let overall = if work_total > 0 {
                    work as f32 / work_total as f32
                } else if p.files_total > 0 {
                    p.files_done as f32 / p.files_total as f32
                } else {
                    0.0
                };
                let secs = elapsed.as_secs_f64();
                let pace = if secs >= 1.0 && work > 0 {
                    let rate = work as f64 / secs;
                    let left = (work_total - work) as f64 / rate;
                    format!(
                        " — {}/s, about {} left",
                        format_bytes((done as f64 / secs) as u64),
                        if left < 60.0 {
                            format!("{left:.0} s")
                        } else {
                            format!("{:.0} min", (left / 60.0).ceil())
                        }
                    )
                } else {
                    String::new()
                };
                // Parallel workers: files finish out of order, so the count says how many are
                // under way too (the bar, by bytes, moves before the first one finishes).
                let finished = p.files_done
                    + if job.kind == JobKind::Sync {
                        p.deleted
                    } else {
                        0
                    };
                let flying = if p.in_flight.is_empty() {
                    String::new()
                } else {
                    format!(" ({} in progress)", p.in_flight.len())
                };
                ui.label(format!(
                    "Overall: {finished} of {} done{flying}, {} of {}{pace}",
                    plural(
                        p.files_total,
                        if job.kind == JobKind::Sync {
                            "item"
                        } else {
                            "file"
                        }
                    ),
                    format_bytes(done),
                    format_bytes(p.bytes_total)
                ));
                ui.add(egui::ProgressBar::new(overall).show_percentage());
                match p.current.and_then(|c| p.in_flight.get(&c)) {
                    Some(f) => {
                        let phase = match f.phase {
                            Phase::Copy => "copying",
                            Phase::Verify => "verifying",
                        };
                        ui.label(format!(
                            "Current file: {} — {phase} {} of {}",
                            f.name,
                            format_bytes(f.done),
                            format_bytes(f.total)
                        ));
                        let frac = if f.total > 0 {
                            f.done as f32 / f.total as f32
                        } else {
                            1.0
                        };
                        ui.add(egui::ProgressBar::new(frac).show_percentage());
                    }
                    None => {
                        ui.label("Current file: —");
                        ui.add(egui::ProgressBar::new(0.0));
                    }
                }
            } else {
                let frac = if p.files_total > 0 {
                    p.deleted as f32 / p.files_total as f32
                } else {
                    0.0
                };
                ui.label(format!("Deleted {} of {}", p.deleted, p.files_total));
                ui.add(egui::ProgressBar::new(frac).show_percentage());
            }
            ui.label(format!("Elapsed: {:.0} s", elapsed.as_secs_f64()));
            ui.separator();
            if job.cancel.is_cancelled() {
                ui.label("Cancelling …");
            } else if ui.button("Cancel").clicked() {
                cancel = true;
            }
        });
        if cancel {
            self.cancel();
        }
    }
}
