//! Calls that would make workflow code non-deterministic, rejected at compile time with the
//! deterministic replacement in the message. `#[allow_nondeterminism]` on a method or a statement
//! marks a reviewed exception.

use syn::visit::Visit;

/// (path suffix, what to use instead)
const FORBIDDEN: &[(&[&str], &str)] = &[
    (
        &["SystemTime", "now"],
        "use `ctx.now()` (workflow time comes from the history)",
    ),
    (
        &["Instant", "now"],
        "use `ctx.now()` (workflow time comes from the history)",
    ),
    (
        &["thread_rng"],
        "use `ctx.random()` or `ctx.uuid()` (seeded from the run)",
    ),
    (
        &["rand", "random"],
        "use `ctx.random()` (seeded from the run)",
    ),
    (&["rand", "rng"], "use `ctx.random()` (seeded from the run)"),
    (&["OsRng"], "use `ctx.random()` (seeded from the run)"),
    (
        &["Uuid", "new_v4"],
        "use `ctx.uuid()` (seeded from the run)",
    ),
    (
        &["thread", "spawn"],
        "use `ctx.spawn()` (a deterministic workflow task)",
    ),
    (&["thread", "sleep"], "use `ctx.sleep()` (a durable timer)"),
    (
        &["tokio", "spawn"],
        "use `ctx.spawn()` (a deterministic workflow task)",
    ),
    (
        &["tokio", "task"],
        "use `ctx.spawn()` (a deterministic workflow task)",
    ),
    (&["tokio", "time"], "use `ctx.sleep()` (a durable timer)"),
    (&["std", "fs"], "do file I/O in an activity"),
    (&["tokio", "fs"], "do file I/O in an activity"),
    (&["std", "net"], "do network I/O in an activity"),
    (&["tokio", "net"], "do network I/O in an activity"),
    (
        &["env", "var"],
        "pass configuration as workflow input, or read it in an activity",
    ),
];

fn matches(path: &[String], pattern: &[&str]) -> bool {
    // The pattern must appear as consecutive segments (so `std::fs::read` matches `std, fs`
    // and `std::time::SystemTime::now` matches `SystemTime, now`).
    path.windows(pattern.len())
        .any(|w| w.iter().zip(pattern).all(|(a, b)| a == b))
}

struct Checker {
    errors: Vec<syn::Error>,
}

fn allowed(attrs: &[syn::Attribute]) -> bool {
    attrs
        .iter()
        .any(|a| a.path().is_ident("allow_nondeterminism"))
}

impl Checker {
    fn check_path(&mut self, path: &syn::Path) {
        let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        for (pattern, instead) in FORBIDDEN {
            if matches(&segments, pattern) {
                let shown = segments.join("::");
                self.errors.push(syn::Error::new_spanned(
                    path,
                    format!("`{shown}` is not deterministic in workflow code: {instead}; if this is a reviewed exception, mark the statement or method with #[allow_nondeterminism]"),
                ));
                return;
            }
        }
    }
}

impl<'ast> Visit<'ast> for Checker {
    fn visit_path(&mut self, path: &'ast syn::Path) {
        self.check_path(path);
        syn::visit::visit_path(self, path);
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        let segments: Vec<String> = mac
            .path
            .segments
            .iter()
            .map(|s| s.ident.to_string())
            .collect();
        if segments.last().is_some_and(|s| s == "select")
            && segments
                .first()
                .is_some_and(|s| s == "futures" || s == "tokio")
        {
            self.errors.push(syn::Error::new_spanned(
                &mac.path,
                "this `select!` picks among ready branches at random: use `reprise::workflow::select!` (the first ready branch wins)",
            ));
        }
        syn::visit::visit_macro(self, mac);
    }

    fn visit_stmt(&mut self, stmt: &'ast syn::Stmt) {
        let attrs = match stmt {
            syn::Stmt::Local(l) => &l.attrs,
            syn::Stmt::Expr(e, _) => match e {
                syn::Expr::Call(c) => &c.attrs,
                syn::Expr::MethodCall(c) => &c.attrs,
                syn::Expr::Block(b) => &b.attrs,
                _ => return syn::visit::visit_stmt(self, stmt),
            },
            syn::Stmt::Macro(m) => &m.attrs,
            syn::Stmt::Item(_) => return,
        };
        if !allowed(attrs) {
            syn::visit::visit_stmt(self, stmt);
        }
    }
}

/// Errors for every non-deterministic call in the method (unless the method is allowed).
pub(crate) fn check(method: &syn::ImplItemFn) -> Vec<syn::Error> {
    if allowed(&method.attrs) {
        return Vec::new();
    }
    let mut checker = Checker { errors: Vec::new() };
    checker.visit_block(&method.block);
    checker.errors
}

/// Removes `#[allow_nondeterminism]` wherever it was accepted, so the compiler never sees it.
pub(crate) fn strip(method: &mut syn::ImplItemFn) {
    struct Strip;
    impl syn::visit_mut::VisitMut for Strip {
        fn visit_stmt_mut(&mut self, stmt: &mut syn::Stmt) {
            let attrs = match stmt {
                syn::Stmt::Local(l) => Some(&mut l.attrs),
                syn::Stmt::Expr(syn::Expr::Call(c), _) => Some(&mut c.attrs),
                syn::Stmt::Expr(syn::Expr::MethodCall(c), _) => Some(&mut c.attrs),
                syn::Stmt::Expr(syn::Expr::Block(b), _) => Some(&mut b.attrs),
                syn::Stmt::Macro(m) => Some(&mut m.attrs),
                _ => None,
            };
            if let Some(attrs) = attrs {
                attrs.retain(|a| !a.path().is_ident("allow_nondeterminism"));
            }
            syn::visit_mut::visit_stmt_mut(self, stmt);
        }
    }
    method
        .attrs
        .retain(|a| !a.path().is_ident("allow_nondeterminism"));
    syn::visit_mut::VisitMut::visit_block_mut(&mut Strip, &mut method.block);
}
