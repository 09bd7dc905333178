//! Testing kit for Reprise: the bundled server arrives with its own issue.
