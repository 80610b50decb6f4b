//! The committed vectors replay on the simulator, regenerate byte for byte,
//! and the runner notices a wrong answer.

use vectors::{Vector, data_dir, generate, load_all, replay, sim_transport};

const REGENERATE: &str =
    "run `cargo run -p vectors --bin gen-vectors` and review the diff of vectors/data/";

#[test]
fn every_committed_vector_replays_on_a_fresh_simulated_card() {
    let all = load_all();
    assert!(
        all.len() >= 8,
        "only {} vectors in {}",
        all.len(),
        data_dir().display()
    );
    for v in &all {
        assert!(!v.steps.is_empty(), "vector {} has no steps", v.name);
        let mut card = sim_transport(&v.card);
        if let Err(m) = replay(v, &mut card) {
            panic!("vector {}, {m}", v.name);
        }
    }
}

#[test]
fn regenerating_reproduces_the_committed_files_byte_for_byte() {
    let generated = generate();
    let dir = data_dir();
    let mut names: Vec<String> = generated.iter().map(Vector::file_name).collect();
    for v in &generated {
        let path = dir.join(v.file_name());
        let committed = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e}; {REGENERATE}", path.display()));
        assert!(
            committed == v.to_json(),
            "{} differs from what the flows generate now; {REGENERATE}",
            path.display()
        );
    }
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    on_disk.sort();
    names.sort();
    assert_eq!(
        on_disk, names,
        "stale or missing vector files; {REGENERATE}"
    );
}

#[test]
fn generation_is_deterministic_within_one_process() {
    assert_eq!(generate(), generate());
}

#[test]
fn a_corrupted_expectation_is_reported_at_its_step() {
    let original = load_all()
        .into_iter()
        .find(|v| v.name == "fig3-postmark-funded")
        .expect("the fig3-postmark-funded vector");
    // The POSTMARK answer: flip one byte of the signature.
    let n = original
        .steps
        .iter()
        .position(|s| s.command.get(..2) == Some(&[0x80, 0x30]))
        .expect("a POSTMARK step");
    let mut corrupted = original.clone();
    let response = &mut corrupted.steps[n].response;
    let at = response.len() - 3;
    response[at] ^= 0x01;

    let m = replay(&corrupted, &mut sim_transport(&corrupted.card)).unwrap_err();
    assert_eq!(m.step, n);
    assert_eq!(m.description, original.steps[n].description);
    assert_eq!(m.command, original.steps[n].command);
    assert_eq!(m.expected, corrupted.steps[n].response);
    assert_eq!(m.actual.as_ref(), Ok(&original.steps[n].response));
    let text = m.to_string();
    assert!(text.contains(&format!("step {n}")), "{text}");
    assert!(text.contains(&m.description), "{text}");
    assert!(
        text.contains(&m.expected_hex()) && text.contains(&m.actual_hex()),
        "{text}"
    );

    // A corrupted command is caught too: the card answers something else.
    let mut wrong_command = original.clone();
    wrong_command.steps[1].command = hex_bytes("00200081063132333435FF");
    let m = replay(&wrong_command, &mut sim_transport(&wrong_command.card)).unwrap_err();
    assert_eq!(m.step, 1);
    assert_eq!(m.actual, Ok(hex_bytes("63C2")));
}

#[test]
fn vector_files_round_trip_and_read_hex_leniently() {
    for v in load_all() {
        assert_eq!(Vector::from_json(&v.to_json()).unwrap(), v);
    }
    let v = Vector::from_json(
        r#"{"name":"x","figure":"Figure 2","description":"d","card":{"seed":1,"time":2},
            "steps":[{"description":"s","command":"00 a4 04 00","response":"6a82"}]}"#,
    )
    .unwrap();
    assert_eq!(v.steps[0].command, [0x00, 0xA4, 0x04, 0x00]);
    assert!(v.to_json().contains("\"command\": \"00A40400\""));
    assert!(
        Vector::from_json(
            r#"{"name":"x","figure":"","description":"","card":{"seed":1,"time":2},
                "steps":[{"description":"s","command":"0G","response":"9000"}]}"#
        )
        .is_err()
    );
}

fn hex_bytes(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap()
}
