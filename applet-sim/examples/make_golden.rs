//! Writes the golden card of the running card version into DIR
//! (`card.sim` and `expected.txt`); see `tests/state_test_data/README.md`.
//!
//! ```text
//! cargo run -p applet-sim --example make_golden -- applet-sim/tests/state_test_data/v5
//! ```
//!
//! `tests/layout_versions.rs` checks that the committed golden card of the
//! current version is what this makes, byte for byte.

#[path = "../tests/golden/generator.rs"]
mod generator;

fn main() {
    let Some(out) = std::env::args_os().nth(1).map(std::path::PathBuf::from) else {
        eprintln!("usage: make_golden DIR");
        std::process::exit(2);
    };
    std::fs::create_dir_all(&out).expect("creating DIR");
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let path = tmp.path().join("card.sim");
    let answers = generator::make(&path);
    std::fs::copy(&path, out.join("card.sim")).expect("writing card.sim");
    std::fs::write(out.join("expected.txt"), generator::expected_text(&answers))
        .expect("writing expected.txt");
}
