//! What the generated-input tests and the `fuzz` binary share: the workflows of every recorded
//! history (the corpus, the examples, the fidelity scenarios' patch workflow), the recorded
//! histories themselves (`fixtures/histories`, `fixtures/fidelity`, `examples/histories`), and a
//! small deterministic random source for tapes.

use reprise::history::History;
use reprise::workflow::{WorkflowContext, WorkflowRegistry, WorkflowResult};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Every workflow a recorded history of this repository names.
pub fn registry() -> WorkflowRegistry {
    let mut r = crate::corpus::registry();
    // Names already taken by the corpus are skipped: the corpus' workflow answers for them.
    let _ = r.register_workflow::<crate::order::ProcessOrder>();
    let _ = r.register_workflow::<crate::saga::BookTrip>();
    let _ = r.register_workflow::<crate::subscription::Subscription>();
    let _ = r.register_workflow::<crate::pipeline::Pipeline>();
    let _ = r.register_workflow::<crate::pipeline::Stage>();
    let _ = r.register_workflow::<crate::recurring::ReportJob>();
    let _ = r.register("GreetingPatchWorkflow", greeting_patch);
    r
}

async fn greeting_patch(ctx: WorkflowContext, (name,): (String,)) -> WorkflowResult<String> {
    let activity = if ctx.patched("greet-v2") {
        "newGreet"
    } else {
        "oldGreet"
    };
    Ok(ctx
        .activity_by_name(activity, (name,))
        .start_to_close_timeout(Duration::from_secs(10))
        .await?)
}

/// The recorded histories of the repository: (file name, file bytes, history).
pub fn recorded() -> Vec<(String, Vec<u8>, History)> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in ["../fixtures/histories", "../fixtures/fidelity", "histories"] {
        collect(&root.join(dir), &mut files);
    }
    files.sort();
    files
        .into_iter()
        .filter_map(|path| {
            let bytes = std::fs::read(&path).ok()?;
            let history = reprise::history::from_json_slice(&bytes).ok()?;
            let name = path.file_name()?.to_string_lossy().into_owned();
            Some((name, bytes, history))
        })
        .collect()
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
}

/// A xorshift generator: tapes for the `fuzz` binary, reproducible from a seed.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed` (zero is replaced).
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// `n` random bytes.
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next_u64() as u8).collect()
    }
}
