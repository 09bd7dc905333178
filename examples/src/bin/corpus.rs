//! Replays recorded histories against the Rust corpus workflows:
//! `cargo run -p reprise-examples --bin corpus -- replay DIR`. Prints one line per file and
//! `N passed, M failed`; exits non-zero on any failure.
#![allow(clippy::print_stdout)]

use reprise::replay::Replayer;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (Some("replay"), Some(dir)) = (args.get(1).map(String::as_str), args.get(2)) else {
        eprintln!("usage: corpus replay DIR");
        return ExitCode::from(2);
    };
    match Replayer::new(reprise_examples::corpus::registry()).replay_dir(dir) {
        Ok(summary) => {
            println!("{summary}");
            if summary.is_success() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
