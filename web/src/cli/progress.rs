//! Progress bars for the long commands, drawn on standard error (hidden when it is
//! not a terminal, so logs and CI output stay clean).

use indicatif::{ProgressBar, ProgressStyle};

/// A bar over `total` bytes of input files.
pub fn bytes(total: u64, show: bool) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template(
            "{msg} [{bar:30}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta} left)",
        )
        .expect("a valid template")
        .progress_chars("=> "),
    );
    bar
}

/// A bar over `total` items (a spinner with a count when the total is unknown).
pub fn items(total: Option<u64>, what: &'static str) -> ProgressBar {
    match total {
        Some(total) => {
            let bar = ProgressBar::new(total);
            bar.set_style(
                ProgressStyle::with_template(&format!(
                    "{{msg}} [{{bar:30}}] {{pos}}/{{len}} {what} ({{per_sec}}, {{eta}} left)"
                ))
                .expect("a valid template")
                .progress_chars("=> "),
            );
            bar
        }
        None => {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template(&format!("{{spinner}} {{msg}} {{pos}} {what}"))
                    .expect("a valid template"),
            );
            bar
        }
    }
}

/// A spinner with `message`, for work of unknown length.
pub fn spinner(message: &'static str) -> ProgressBar {
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg} ({elapsed})").expect("a valid template"),
    );
    bar.set_message(message);
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    bar
}
