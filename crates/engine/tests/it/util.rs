//! What the copy tests share: a reporter that records every event (and cancels on request), and
//! a copier reporting to it.

use std::sync::{Arc, Mutex};

use engine::{CancelToken, Copier, Event, Outcome, Phase, Reporter, Settings};

/// Records every event; cancels the token at the first progress event of a phase when one is
/// given.
#[derive(Default)]
pub struct Recorder {
    pub events: Mutex<Vec<Event>>,
    pub cancel_on: Option<(Phase, CancelToken)>,
}

impl Reporter for Recorder {
    fn report(&self, event: &Event) {
        if let Event::Progress { phase, .. } = event
            && let Some((p, token)) = &self.cancel_on
            && p == phase
        {
            token.cancel();
        }
        self.events.lock().unwrap().push(event.clone());
    }
}

impl Recorder {
    /// A recorder that cancels `token` at the first progress event of `phase`.
    pub fn cancelling_at(phase: Phase, token: CancelToken) -> Recorder {
        Recorder {
            cancel_on: Some((phase, token)),
            ..Recorder::default()
        }
    }

    pub fn decision_lines(&self) -> Vec<String> {
        self.events
            .lock()
            .unwrap()
            .iter()
            .filter_map(|e| match e {
                Event::Decision { line, .. } => Some(line.clone()),
                _ => None,
            })
            .collect()
    }

    pub fn outcome(&self) -> Outcome {
        self.events
            .lock()
            .unwrap()
            .iter()
            .find_map(|e| match e {
                Event::FileFinished { outcome, .. } => Some(outcome.clone()),
                _ => None,
            })
            .expect("FileFinished emitted")
    }

    pub fn phases(&self) -> Vec<Phase> {
        let mut v: Vec<Phase> = Vec::new();
        for e in self.events.lock().unwrap().iter() {
            if let Event::Progress { phase, .. } = e
                && v.last() != Some(phase)
            {
                v.push(*phase);
            }
        }
        v
    }

    /// (done, total) of every copy progress event.
    #[cfg(windows)]
    pub fn copy_progress(&self) -> Vec<(u64, u64)> {
        self.events
            .lock()
            .unwrap()
            .iter()
            .filter_map(|e| match e {
                Event::Progress {
                    phase: Phase::Copy,
                    done,
                    total,
                    ..
                } => Some((*done, *total)),
                _ => None,
            })
            .collect()
    }

    /// The first Decision line.
    #[cfg(windows)]
    pub fn decision_line(&self) -> String {
        self.decision_lines()
            .into_iter()
            .next()
            .expect("a Decision line")
    }
}

/// A copier with `settings` that reports to a new [`Recorder`].
pub fn copier(settings: Settings) -> (Copier, Arc<Recorder>) {
    let rec = Arc::new(Recorder::default());
    (Copier::new(settings, rec.clone(), CancelToken::new()), rec)
}
