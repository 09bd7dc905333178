//! Procedural macros for Reprise. The macros arrive with the authoring-API issue.
