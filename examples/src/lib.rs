//! Runnable examples of Reprise; each scenario is a binary under `src/bin/`.
