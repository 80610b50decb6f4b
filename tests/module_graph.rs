//! The module graphs of the card core (`applet-sim`), the host library
//! (`reader`) and the CLI (`cli`), read from the `crate::` paths in each
//! `src/` (comments left out): none has a cycle; in the card core the flows
//! never use the dispatcher nor each other, and the lower modules never use
//! a flow. `cargo test -p certmeter-tests --test module_graph -- --nocapture`
//! prints them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

type Graph = BTreeMap<String, BTreeSet<String>>;

/// The node of a source file: `flows::NAME` for a flow, else the top-level module.
fn node_of(rel: &Path) -> String {
    let parts: Vec<String> = rel
        .with_extension("")
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    match parts.as_slice() {
        [flows, name] if flows == "flows" && name != "mod" => format!("flows::{name}"),
        [first, ..] => first.clone(),
        [] => String::new(),
    }
}

fn ident(s: &str) -> (&str, &str) {
    let end = s
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    s.split_at(end)
}

/// The targets of one `crate::…` path (after the `crate::`).
fn targets(rest: &str, out: &mut BTreeSet<String>) {
    let rest = rest.trim_start();
    if let Some(group) = rest.strip_prefix('{') {
        let mut depth = 0;
        let mut start = 0;
        for (i, c) in group.char_indices() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => {
                    targets(&group[start..i], out);
                    return;
                }
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    targets(&group[start..i], out);
                    start = i + 1;
                }
                _ => {}
            }
        }
        return;
    }
    let (name, after) = ident(rest);
    if name.is_empty() || name == "self" {
        return;
    }
    if let Some(sub) = after.strip_prefix("::").filter(|_| name == "flows") {
        let mut inner = BTreeSet::new();
        targets(sub, &mut inner);
        for n in inner {
            out.insert(format!("flows::{n}"));
        }
        return;
    }
    out.insert(name.to_owned());
}

/// The graph of the crate in `dir` (a workspace folder).
fn graph(dir: &str) -> Graph {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(dir)
        .join("src");
    let mut g = Graph::new();
    let mut stack = vec![src.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let rel = path.strip_prefix(&src).unwrap();
            if rel.starts_with("bin") || path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let node = node_of(rel);
            let text = std::fs::read_to_string(&path).unwrap();
            // Code only: a statement may span lines, comments are dropped.
            let code: String = text
                .lines()
                .filter(|l| !l.trim_start().starts_with("//"))
                .collect::<Vec<_>>()
                .join(" ");
            let mut deps = BTreeSet::new();
            for (i, _) in code.match_indices("crate::") {
                targets(&code[i + "crate::".len()..], &mut deps);
            }
            deps.remove(&node);
            g.entry(node).or_default().extend(deps);
        }
    }
    g
}

/// A cycle, if any (depth-first search).
fn cycle(g: &Graph) -> Option<Vec<String>> {
    fn visit(
        n: &str,
        g: &Graph,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|p| p == n) {
            return Some(path[i..].to_vec());
        }
        if done.contains(n) {
            return None;
        }
        path.push(n.to_owned());
        for d in g.get(n).into_iter().flatten() {
            if let Some(c) = visit(d, g, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(n.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    g.keys()
        .find_map(|n| visit(n, g, &mut Vec::new(), &mut done))
}

fn print(name: &str, g: &Graph) {
    eprintln!("{name}:");
    for (n, deps) in g {
        let deps: Vec<_> = deps.iter().map(String::as_str).collect();
        eprintln!("  {n} -> {}", deps.join(", "));
    }
}

#[test]
fn the_host_library_and_the_cli_have_no_import_circle() {
    for (dir, must_have) in [("reader", "session"), ("cli", "commands")] {
        let g = graph(dir);
        print(dir, &g);
        assert_eq!(cycle(&g), None, "a cycle in {dir}'s module graph");
        assert!(g.contains_key(must_have), "{dir}: {must_have} not seen");
    }
}

#[test]
fn a_cycle_is_found() {
    let mut g = Graph::new();
    for (a, b) in [("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")] {
        g.entry(a.into()).or_default().insert(b.into());
    }
    assert_eq!(cycle(&g), Some(vec!["a".into(), "b".into(), "c".into()]));
    g.get_mut("c").unwrap().remove("a");
    assert_eq!(cycle(&g), None);
}

#[test]
fn the_card_core_is_acyclic_and_layered() {
    let g = graph("applet-sim");
    print("applet-sim", &g);
    assert_eq!(cycle(&g), None, "a cycle in the card core's module graph");
    let is_flow = |n: &str| n == "flows" || n.starts_with("flows::");
    for (n, deps) in &g {
        if n.starts_with("flows::") {
            for d in deps {
                assert!(
                    d != "applet" && !is_flow(d),
                    "flow {n} uses {d}: flows use only the lower modules"
                );
            }
        } else if !matches!(n.as_str(), "applet" | "flows" | "lib" | "sim" | "vpcd") {
            for d in deps {
                assert!(d != "applet" && !is_flow(d), "lower module {n} uses {d}");
            }
        }
    }
    assert!(g.contains_key("state") && g.contains_key("flows::postmark"));
}
