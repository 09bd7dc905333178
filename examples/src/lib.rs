//! Runnable examples of Reprise.
