//! Writes the golden card of the running card version into `$GOLDEN_OUT`
//! (`card.sim` and `expected.txt`); see `tests/state_test_data/README.md`.
//! Ignored unless asked for:
//!
//! ```text
//! GOLDEN_OUT=$PWD/applet-sim/tests/state_test_data/v2 \
//!     cargo test -p applet-sim --test make_golden -- --ignored
//! ```

#[path = "golden/generator.rs"]
mod generator;

#[test]
#[ignore = "writes golden data; run by hand with GOLDEN_OUT=DIR"]
fn make_golden() {
    let out = std::path::PathBuf::from(std::env::var("GOLDEN_OUT").expect("GOLDEN_OUT=DIR"));
    std::fs::create_dir_all(&out).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("card.sim");
    let answers = generator::make(&path);
    std::fs::copy(&path, out.join("card.sim")).unwrap();
    std::fs::write(out.join("expected.txt"), generator::expected_text(&answers)).unwrap();
}
