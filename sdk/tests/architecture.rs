//! The house rules of the workspace, checked on every test run:
//!
//! 1. **No import circles.** Inside every module that has submodules (a crate's root, `workflow`,
//!    `testing`'s `server::history`…), no submodule may use a sibling that uses it back, directly
//!    or through other siblings. A use of `crate::workflow::WorkflowContext` from `replay` counts
//!    as `replay → workflow`; re-exports are followed to the module that defines the item, so
//!    `super::WorkflowContext` from `workflow/operations.rs` counts as `operations → context`.
//! 2. **No source file over 800 lines** under `sdk/`, `sdk-macros/`, `testing/` and `examples/`.
//!
//! Both rules keep the code readable by the next person: each room depends only on rooms below it,
//! and each file fits in one reading. Exceptions are listed below, each with its reason.
//!
//! The check reads the source with a small tokenizer (comments and literals skipped) instead of a
//! Rust parser, so that it needs no dependency; it understands `crate::`, `super::`, `self::`
//! paths (in `use` trees and inline), `mod` declarations with `#[path]`, and `pub use` re-exports.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// The longest a source file may be.
const MAX_LINES: usize = 800;

/// Files allowed to exceed [`MAX_LINES`], with the reason.
const LONG_FILES: &[(&str, &str)] = &[];

/// Sibling uses the circle check ignores, as (module, used sibling), with the reason.
const ALLOWED_USES: &[(&str, &str, &str)] = &[];

/// The crates' roots: every library, binary, test, bench and example target of the workspace.
fn crate_roots(root: &Path) -> Vec<(String, PathBuf)> {
    let mut roots = Vec::new();
    for (dir, name) in [
        ("sdk/api", "reprise_api"),
        ("sdk", "reprise"),
        ("sdk-macros", "reprise_macros"),
        ("testing", "reprise_testing"),
        ("examples", "reprise_examples"),
    ] {
        let dir = root.join(dir);
        for file in ["src/lib.rs", "src/main.rs"] {
            if dir.join(file).is_file() {
                roots.push((name.to_string(), dir.join(file)));
            }
        }
        for targets in ["src/bin", "tests", "benches", "examples"] {
            for file in rust_files_in(&dir.join(targets)) {
                let stem = file.file_stem().unwrap_or_default().to_string_lossy();
                roots.push((format!("{name}[{targets}/{stem}]"), file));
            }
        }
    }
    roots
}

/// The `.rs` files directly in `dir` (none when it does not exist).
fn rust_files_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "rs"))
        .collect();
    files.sort();
    files
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("sdk/ is inside the workspace")
        .to_path_buf()
}

#[test]
fn no_module_imports_a_module_that_imports_it_back() {
    let root = workspace_root();
    let mut circles = Vec::new();
    for (krate, file) in crate_roots(&root) {
        let modules = read_crate(&krate, &file);
        circles.extend(find_circles(&modules));
    }
    assert!(
        circles.is_empty(),
        "import circles (each module uses the next, the last uses the first):\n{}",
        circles.join("\n")
    );
}

#[test]
fn no_source_file_is_over_800_lines() {
    let root = workspace_root();
    let mut long = Vec::new();
    for dir in ["sdk", "sdk-macros", "testing", "examples"] {
        for file in rust_files_under(&root.join(dir)) {
            let relative = file.strip_prefix(&root).unwrap_or(&file);
            let relative = relative.to_string_lossy().replace('\\', "/");
            let lines = fs::read_to_string(&file)
                .unwrap_or_default()
                .lines()
                .count();
            if lines > MAX_LINES && !LONG_FILES.iter().any(|(f, _)| *f == relative) {
                long.push(format!("{relative}: {lines} lines"));
            }
        }
    }
    assert!(
        long.is_empty(),
        "files over {MAX_LINES} lines (split them by concern):\n{}",
        long.join("\n")
    );
    for (file, _) in LONG_FILES {
        assert!(
            root.join(file).is_file(),
            "{file} is allowed to be long but no longer exists: remove it from LONG_FILES"
        );
    }
}

/// Every `.rs` file under `dir`, skipping build output.
fn rust_files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                if path.file_name().is_some_and(|n| n != "target") {
                    pending.push(path);
                }
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files
}

/// A module as the check sees it: the paths it uses and the names it re-exports.
#[derive(Default)]
struct Module {
    /// Absolute paths (from the crate root) this module's code names.
    uses: Vec<Vec<String>>,
    /// Names brought into the module by `use`, with the absolute path they stand for.
    imports: BTreeMap<String, Vec<String>>,
}

/// All modules of one crate, by absolute path (`["reprise", "workflow", "context"]`).
type Modules = BTreeMap<Vec<String>, Module>;

fn read_crate(krate: &str, root_file: &Path) -> Modules {
    let mut modules = Modules::new();
    let crate_path = vec![krate.to_string()];
    let dir = root_file
        .parent()
        .expect("a file has a directory")
        .to_path_buf();
    read_module_file(&mut modules, crate_path, root_file, &dir);
    modules
}

/// Reads one file as the module `path`; `child_dir` is where its `mod x;` files live.
fn read_module_file(modules: &mut Modules, path: Vec<String>, file: &Path, child_dir: &Path) {
    let Ok(source) = fs::read_to_string(file) else {
        return;
    };
    let tokens = tokenize(&source);
    modules.entry(path.clone()).or_default();
    // The module the tokens belong to: the file's, then the inline `mod x { … }` blocks around
    // them, each with the brace depth it closes at.
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut depth = 0usize;
    let mut path_attribute: Option<String> = None;
    let mut i = 0;
    while i < tokens.len() {
        let current: Vec<String> = path
            .iter()
            .cloned()
            .chain(inline.iter().map(|(n, _)| n.clone()))
            .collect();
        match tokens[i].as_str() {
            "{" => depth += 1,
            "}" => {
                depth = depth.saturating_sub(1);
                if inline.last().is_some_and(|(_, d)| *d == depth) {
                    inline.pop();
                }
            }
            "#" if tokens.get(i + 1).is_some_and(|t| t == "[")
                && tokens.get(i + 2).is_some_and(|t| t == "path") =>
            {
                path_attribute = tokens.get(i + 4).map(|t| t.trim_matches('"').to_string());
            }
            "mod" if tokens.get(i + 1).is_some_and(|t| is_ident(t)) => {
                let name = tokens[i + 1].clone();
                if tokens.get(i + 2).is_some_and(|t| t == ";") {
                    let mut child = current.clone();
                    child.push(name.clone());
                    let inline_dir: PathBuf = inline.iter().map(|(n, _)| n.as_str()).collect();
                    let base = child_dir.join(inline_dir);
                    let (child_file, grandchild_dir) = match path_attribute.take() {
                        Some(p) => {
                            let f = base.join(p);
                            let d = f.parent().unwrap_or(&base).to_path_buf();
                            (f, d)
                        }
                        None if base.join(format!("{name}.rs")).is_file() => {
                            (base.join(format!("{name}.rs")), base.join(&name))
                        }
                        None => (base.join(&name).join("mod.rs"), base.join(&name)),
                    };
                    read_module_file(modules, child, &child_file, &grandchild_dir);
                    i += 3;
                    continue;
                } else if tokens.get(i + 2).is_some_and(|t| t == "{") {
                    inline.push((name.clone(), depth));
                    depth += 1;
                    let mut child = current.clone();
                    child.push(name);
                    modules.entry(child).or_default();
                    path_attribute = None;
                    i += 3;
                    continue;
                }
            }
            "use" => {
                let mut trees = Vec::new();
                let end = read_use_tree(&tokens, i + 1, Vec::new(), &mut trees);
                let module_known = |m: &Vec<String>| modules.contains_key(m);
                let resolved: Vec<_> = trees
                    .into_iter()
                    .filter(|(tree, _)| !tree.is_empty())
                    .collect();
                let trees = resolved;
                let mut found = Vec::new();
                for (tree, alias) in trees {
                    let Some(absolute) = absolute_path(&current, &tree).or_else(|| {
                        // `use child::Item` names a child module; other crates do not count.
                        let child = [current.as_slice(), &tree[..1]].concat();
                        module_known(&child).then(|| [current.as_slice(), &tree].concat())
                    }) else {
                        continue;
                    };
                    found.push((absolute, alias));
                }
                let module = modules.entry(current.clone()).or_default();
                for (absolute, alias) in found {
                    if let Some(alias) = alias {
                        module.imports.insert(alias, absolute.clone());
                    }
                    module.uses.push(absolute);
                }
                i = end;
                continue;
            }
            "crate" | "super" | "self"
                if tokens.get(i + 1).is_some_and(|t| t == "::")
                    && tokens.get(i.wrapping_sub(1)).is_none_or(|t| t != "::") =>
            {
                let mut segments = vec![tokens[i].clone()];
                let mut j = i + 1;
                while tokens.get(j).is_some_and(|t| t == "::")
                    && tokens.get(j + 1).is_some_and(|t| is_ident(t))
                {
                    segments.push(tokens[j + 1].clone());
                    j += 2;
                }
                if let Some(absolute) = absolute_path(&current, &segments) {
                    modules
                        .entry(current.clone())
                        .or_default()
                        .uses
                        .push(absolute);
                }
                i = j;
                continue;
            }
            _ => {}
        }
        // Only a `#[path = "…"]` directly before `mod` applies to it.
        if tokens[i] == ";" || tokens[i] == "{" {
            path_attribute = None;
        }
        i += 1;
    }
}

/// Reads a `use` tree from `tokens[i]`; pushes each leaf path (and the name it is imported as,
/// `None` for a glob) onto `out`; returns the index after the tree.
fn read_use_tree(
    tokens: &[String],
    mut i: usize,
    prefix: Vec<String>,
    out: &mut Vec<(Vec<String>, Option<String>)>,
) -> usize {
    let mut path = prefix;
    while i < tokens.len() {
        match tokens[i].as_str() {
            "::" => i += 1,
            "{" => {
                i += 1;
                while i < tokens.len() && tokens[i] != "}" {
                    i = read_use_tree(tokens, i, path.clone(), out);
                    if tokens.get(i).is_some_and(|t| t == ",") {
                        i += 1;
                    }
                }
                return i + 1;
            }
            "self" if !path.is_empty() => i += 1,
            "*" => {
                out.push((path, None));
                return i + 1;
            }
            "as" => {
                let alias = tokens.get(i + 1).cloned().unwrap_or_default();
                out.push((path, Some(alias)));
                return i + 2;
            }
            "," | "}" | ";" => {
                let name = path.last().cloned().unwrap_or_default();
                if !path.is_empty() {
                    out.push((path, Some(name)));
                }
                return if tokens[i] == ";" { i + 1 } else { i };
            }
            t if is_ident(t) => {
                path.push(t.to_string());
                i += 1;
            }
            _ => i += 1,
        }
    }
    i
}

/// `crate::a::b`, `super::b`, `self::b` as a path from the crate root; `None` for other crates.
fn absolute_path(current: &[String], segments: &[String]) -> Option<Vec<String>> {
    let mut base: Vec<String> = Vec::new();
    let mut rest = segments;
    match segments.first().map(String::as_str) {
        Some("crate") => {
            base.push(current[0].clone());
            rest = &segments[1..];
        }
        Some("self") => {
            base = current.to_vec();
            rest = &segments[1..];
        }
        Some("super") => {
            base = current.to_vec();
            while rest.first().is_some_and(|s| s == "super") {
                base.pop();
                rest = &rest[1..];
            }
        }
        _ => return None,
    }
    base.extend(rest.iter().cloned());
    Some(base)
}

/// The module that defines what `path` names: the longest module prefix, after following the
/// `use` re-exports of the modules on the way.
fn defining_module(modules: &Modules, path: &[String]) -> Vec<String> {
    let mut path = path.to_vec();
    for _ in 0..16 {
        let mut known = 1;
        while known < path.len() && modules.contains_key(&path[..=known]) {
            known += 1;
        }
        let Some(next) = path.get(known) else {
            return path;
        };
        let Some(target) = modules
            .get(&path[..known])
            .and_then(|m| m.imports.get(next))
        else {
            return path[..known].to_vec();
        };
        if target.len() <= known && target[..] == path[..target.len()] {
            return path[..known].to_vec();
        }
        let mut followed = target.clone();
        followed.extend(path[known + 1..].iter().cloned());
        path = followed;
    }
    path
}

/// The circles among the siblings of every module, as readable lines.
fn find_circles(modules: &Modules) -> Vec<String> {
    // Edges between siblings, grouped by their parent.
    let mut edges: BTreeMap<Vec<String>, BTreeSet<(String, String)>> = BTreeMap::new();
    for (from, module) in modules {
        for used in &module.uses {
            let to = defining_module(modules, used);
            let Some(d) = (0..from.len().min(to.len())).find(|&d| from[d] != to[d]) else {
                continue; // a parent or a child: not a sibling
            };
            let parent = from[..d].to_vec();
            let name = |m: &[String]| m.join("::");
            let (a, b) = (name(&from[..=d]), name(&to[..=d]));
            if ALLOWED_USES.iter().any(|(f, t, _)| *f == a && *t == b) {
                continue;
            }
            edges
                .entry(parent)
                .or_default()
                .insert((from[d].clone(), to[d].clone()));
        }
    }
    let mut circles = Vec::new();
    for (parent, edges) in edges {
        for component in strongly_connected(&edges) {
            if component.len() > 1 {
                let uses: Vec<String> = edges
                    .iter()
                    .filter(|(a, b)| component.contains(a) && component.contains(b))
                    .map(|(a, b)| format!("{a} → {b}"))
                    .collect();
                circles.push(format!("in {}: {}", parent.join("::"), uses.join(", ")));
            }
        }
    }
    circles
}

/// The strongly connected components of a small directed graph (Tarjan's algorithm).
fn strongly_connected(edges: &BTreeSet<(String, String)>) -> Vec<BTreeSet<String>> {
    struct Search<'a> {
        edges: &'a BTreeSet<(String, String)>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        components: Vec<BTreeSet<String>>,
    }
    impl<'a> Search<'a> {
        fn visit(&mut self, node: &'a str) {
            let n = self.index.len();
            self.index.insert(node, n);
            self.low.insert(node, n);
            self.stack.push(node);
            for (_, next) in self.edges.iter().filter(|(a, _)| a == node) {
                let next = next.as_str();
                if !self.index.contains_key(next) {
                    self.visit(next);
                    let low = self.low[node].min(self.low[next]);
                    self.low.insert(node, low);
                } else if self.stack.contains(&next) {
                    let low = self.low[node].min(self.index[next]);
                    self.low.insert(node, low);
                }
            }
            if self.low[node] == self.index[node] {
                let mut component = BTreeSet::new();
                while let Some(top) = self.stack.pop() {
                    component.insert(top.to_string());
                    if top == node {
                        break;
                    }
                }
                self.components.push(component);
            }
        }
    }
    let mut search = Search {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        components: Vec::new(),
    };
    for (node, _) in edges {
        if !search.index.contains_key(node.as_str()) {
            search.visit(node);
        }
    }
    search.components
}

fn is_ident(token: &str) -> bool {
    token
        .chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_')
        && token != "as"
}

/// Rust source as identifiers, `::`, string literals and single punctuation characters, without
/// comments, characters and lifetimes.
fn tokenize(source: &str) -> Vec<String> {
    let chars: Vec<char> = source.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c.is_whitespace() {
            i += 1;
        } else if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut nesting = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    nesting += 1;
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    nesting -= 1;
                    i += 2;
                    if nesting == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if c == '"' {
            let start = i;
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            tokens.push(chars[start..i.min(chars.len())].iter().collect());
        } else if (c == 'r' || c == 'b')
            && (next == Some('#') || next == Some('"') || (c == 'b' && next == Some('r')))
            && raw_string_end(&chars, i).is_some()
        {
            i = raw_string_end(&chars, i).unwrap_or(chars.len());
            tokens.push("\"\"".to_string());
        } else if c == '\'' {
            // A character literal ('a', '\n', '\u{1F600}') or a lifetime ('a).
            if next == Some('\\') {
                i += 2;
                while i < chars.len() && chars[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if chars.get(i + 2) == Some(&'\'') {
                i += 3;
            } else {
                i += 1;
            }
        } else if c.is_alphanumeric() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            tokens.push(chars[start..i].iter().collect());
        } else if c == ':' && next == Some(':') {
            tokens.push("::".to_string());
            i += 2;
        } else {
            tokens.push(c.to_string());
            i += 1;
        }
    }
    tokens
}

/// Where a raw or byte string starting at `i` (`r"…"`, `r#"…"#`, `b"…"`, `br#"…"#`) ends.
fn raw_string_end(chars: &[char], mut i: usize) -> Option<usize> {
    let byte = chars[i] == 'b';
    i += 1;
    let raw = !byte || chars.get(i) == Some(&'r');
    if byte && raw {
        i += 1;
    }
    let mut hashes = 0;
    while chars.get(i) == Some(&'#') {
        hashes += 1;
        i += 1;
    }
    if chars.get(i) != Some(&'"') {
        return None;
    }
    i += 1;
    while i < chars.len() {
        if !raw && chars[i] == '\\' {
            i += 2;
            continue;
        }
        if chars[i] == '"' && (0..hashes).all(|h| chars.get(i + 1 + h) == Some(&'#')) {
            return Some(i + 1 + hashes);
        }
        i += 1;
    }
    None
}
