//! Procedural macros for Reprise: `#[workflow]` and `#[activities]`.
//!
//! This crate only parses and generates; what the generated code calls lives in
//! `reprise::__private`, and the documentation with examples is on the re-exports in `reprise`.
//! Every error is a `compile_error!` pointing at the offending tokens.

mod activities;
mod determinism;
mod workflow;

use proc_macro::TokenStream;

/// Defines a workflow: on the `impl` block of the workflow type (see `reprise::workflow`).
#[proc_macro_attribute]
pub fn workflow(attr: TokenStream, item: TokenStream) -> TokenStream {
    workflow::expand(attr.into(), item.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Defines a group of activities: on an `impl` block (see `reprise::activities`).
#[proc_macro_attribute]
pub fn activities(attr: TokenStream, item: TokenStream) -> TokenStream {
    activities::expand(attr.into(), item.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
