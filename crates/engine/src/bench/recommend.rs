//! From measured rows to a recommendation: the fastest variant, unless the difference is noise.

use super::{Recommendation, Row};

/// A variant must beat the current setting by more than this share before we recommend a change:
/// smaller differences are within the noise of one run on a shared machine.
const MARGIN: f64 = 0.05;

/// The fastest row's value, unless the current value is within [`MARGIN`] of it (then keep it:
/// the difference is noise). `prefer` is kept the same way when it is among the rows.
pub(super) fn recommend(
    key: &'static str,
    rows: &[Row],
    current: &str,
    value: impl Fn(&Row) -> String,
    prefer: &str,
) -> Recommendation {
    let ok: Vec<&Row> = rows.iter().filter(|r| r.error.is_none()).collect();
    let Some(best) = ok
        .iter()
        .min_by(|a, b| a.median().total_cmp(&b.median()))
        .copied()
    else {
        return Recommendation {
            key,
            value: current.to_string(),
            current: current.to_string(),
            why: "every variant failed: keep the current value".into(),
        };
    };
    // Slower by less than the margin, or by less than the best variant's own spread between
    // repetitions: not a measured difference.
    let best_slowest = best.seconds.iter().copied().fold(0.0, f64::max);
    let within = |v: &str| {
        ok.iter()
            .find(|r| value(r) == v)
            .filter(|r| r.median() <= best.median() * (1.0 + MARGIN) || r.median() <= best_slowest)
    };
    let (chosen, why) = if let Some(r) = within(current) {
        let why = if value(r) == value(best) {
            "fastest".to_string()
        } else {
            format!(
                "within {:.0}% or the run-to-run spread of the fastest ({}): not worth a change",
                MARGIN * 100.0,
                value(best)
            )
        };
        (current.to_string(), why)
    } else if let Some(r) = (!prefer.is_empty()).then(|| within(prefer)).flatten() {
        (
            value(r),
            format!("within {:.0}% of the fastest", MARGIN * 100.0),
        )
    } else {
        let cur = ok.iter().find(|r| value(r) == current);
        let why = match cur {
            Some(c) => format!(
                "{:.0}% faster than {current} here",
                (1.0 - best.median() / c.median()) * 100.0
            ),
            None => "fastest".to_string(),
        };
        (value(best), why)
    };
    Recommendation {
        key,
        value: chosen,
        current: current.to_string(),
        why,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::Group;

    fn row(label: &str, secs: f64) -> Row {
        Row {
            group: Group::Window,
            label: label.into(),
            settings: vec![("window", label.into())],
            files: 1,
            bytes: 1,
            seconds: vec![secs],
            error: None,
        }
    }

    #[test]
    fn recommend_keeps_the_current_value_within_the_noise_margin() {
        let rows = [row("16MiB", 1.0), row("64MiB", 1.03)];
        let r = recommend("window", &rows, "64MiB", |r| r.label.clone(), "");
        assert_eq!(r.value, "64MiB");
        assert!(!r.changes());
        let rows = [row("16MiB", 1.0), row("64MiB", 1.5)];
        let r = recommend("window", &rows, "64MiB", |r| r.label.clone(), "");
        assert_eq!(r.value, "16MiB");
        assert!(r.why.contains("33% faster"), "{}", r.why);
        // A faster median whose own repetitions reach the current value's median is noise.
        let mut noisy = row("16MiB", 1.0);
        noisy.seconds = vec![0.9, 1.0, 1.8];
        let rows = [noisy, row("64MiB", 1.5)];
        let r = recommend("window", &rows, "64MiB", |r| r.label.clone(), "");
        assert_eq!(r.value, "64MiB", "{}", r.why);
    }
}
