//! [reliability] point 1: exhaustive tearing over every vector flow.
//!
//! For every flow of `vectors/data/*.json`, the APDUs are replayed on a
//! fresh card built as the vector says ([`vectors::fresh`]); the card is
//! snapshotted before every step (a [`Card`] clone: persistent memory, RAM
//! and random number generator). Then, for every command and every
//! persistent write it makes (counted on the clean run), the power is cut
//! during that write on a copy of the snapshot, and after power-up:
//!
//! * the cut command gave no answer (no postmark, indicium, receipt,
//!   certificate, payment certificate or revocation confirmation left the
//!   card: the answer is released only after the commit, and every answer
//!   of the clean run comes after it: the journal is empty then);
//! * for each register, ascending + descending = the loads accepted so far
//!   (it changes only with a committed load: the load count moved);
//! * no monotone counter (piece counts, sequence, postmark count, clock,
//!   load count, agent count, audit count, rate version, credit line number,
//!   payment count, ascending registers, life cycle, last contact) went
//!   back, and none went beyond what the completed command leaves;
//! * no key without its certificate or the reverse (slots 1 to 3: key and
//!   certificate together; slot 0 and the life cycle; the meter and
//!   attestation key pairs), the credit remaining within its line;
//! * the card answers SELECT and GET DATA status (as any host's first
//!   contact after a power-up);
//! * the flow continues: the torn command is sent again from its start and
//!   then the next command of the flow, and both answers are the recorded
//!   ones, byte for byte. A host can not rebuild the card's RAM (selection,
//!   PIN status, hash, challenge, channel keys) nor its random number
//!   generator, and a real host would fetch a new authority message for a
//!   new challenge; so the continuation runs on the snapshot taken before
//!   the torn command (its RAM and generator) with the persistent memory
//!   the power-up left: the only thing that differs from the recorded run
//!   is what the cut left in persistent memory, and the recorded answers
//!   prove it is exactly what the command expects.
//!
//! The figures (tear points per flow, total) are printed; run with
//! `cargo test -p certmeter-tests --test tearing_campaign -- --nocapture`.

use applet_sim::sim::{Card, SimError};
use vectors::{Vector, load_all};

#[path = "tearing_support.rs"]
mod support;
use support::{View, consistent, never_back, not_beyond};

/// The clean run of one flow: the card before every step, and after the last.
struct Clean {
    /// `cards[k]`: the card before step `k`; `cards[steps]`: after the last.
    cards: Vec<Card>,
    /// Physical writes of each step.
    writes: Vec<u64>,
    /// The loads accepted before each step (per register), and after the last.
    loaded: Vec<[u64; 2]>,
}

fn view(card: &Card) -> View {
    View::of(card.store())
}

/// Replays `v` on a fresh card, checking every answer and the invariants
/// between steps.
fn clean_run(v: &Vector) -> Clean {
    let mut card = vectors::fresh(&v.card)
        .unwrap_or_else(|e| panic!("{}: the fresh card: {e}", v.name))
        .into_card();
    let mut cards = Vec::with_capacity(v.steps.len() + 1);
    let mut writes = Vec::with_capacity(v.steps.len());
    let mut loaded = vec![view(&card).totals()];
    consistent(card.store()).unwrap_or_else(|e| panic!("{}: the fresh card: {e}", v.name));
    for (k, step) in v.steps.iter().enumerate() {
        cards.push(card.clone());
        let before = view(&card);
        let answer = card
            .transmit(&step.command)
            .unwrap_or_else(|e| panic!("{} step {k}: {e}", v.name));
        assert_eq!(
            hex::encode_upper(&answer),
            hex::encode_upper(&step.response),
            "{} step {k} ({}): the recorded answer",
            v.name,
            step.description
        );
        writes.push(card.last_command_stats().raw_writes);
        let after = view(&card);
        let at = format!("{} step {k} ({})", v.name, step.description);
        consistent(card.store()).unwrap_or_else(|e| panic!("{at}: {e}"));
        never_back(&before, &after).unwrap_or_else(|e| panic!("{at}: {e}"));
        let load = after.load_count > before.load_count || after.lifecycle != before.lifecycle;
        if !load {
            assert_eq!(
                after.totals(),
                before.totals(),
                "{at}: the control totals moved without a load"
            );
        }
        loaded.push(after.totals());
    }
    cards.push(card);
    Clean {
        cards,
        writes,
        loaded,
    }
}

#[derive(Default)]
struct Figures {
    /// Tear points tried.
    tears: u64,
    /// Cuts whose power-up found the command rolled back entirely.
    rolled_back: u64,
    /// Cuts that found an intermediate committed state (a command of
    /// several transactions: VERIFY, CHANGE REFERENCE DATA).
    intermediate: u64,
    /// Cuts that found the command complete.
    complete: u64,
    /// Commands cut (steps with at least one write).
    commands: u64,
    /// Intermediate states by instruction byte.
    intermediate_by: std::collections::BTreeMap<String, u64>,
}

/// Cuts the power at write `n` of step `k` and checks everything.
fn tear(v: &Vector, clean: &Clean, k: usize, n: u64, figures: &mut Figures) {
    let step = &v.steps[k];
    let at = format!(
        "{} step {k} ({}), cut at write {n} of {}",
        v.name, step.description, clean.writes[k]
    );
    let pre = &clean.cards[k];
    let post = &clean.cards[k + 1];
    let (pre_view, post_view) = (view(pre), view(post));

    let mut card = pre.clone();
    card.tear_at_write(n);
    match card.transmit(&step.command) {
        Err(SimError::Mute) => {}
        other => panic!("{at}: the card answered a cut command: {other:?}"),
    }
    card.power_on();
    assert!(card.is_powered(), "{at}: no power-up");

    // The invariants after power-up.
    let got = view(&card);
    consistent(card.store()).unwrap_or_else(|e| panic!("{at}: {e}"));
    never_back(&pre_view, &got).unwrap_or_else(|e| panic!("{at}: {e}"));
    not_beyond(&got, &post_view).unwrap_or_else(|e| panic!("{at}: {e}"));
    let loaded = if got.load_count > pre_view.load_count || got.lifecycle != pre_view.lifecycle {
        clean.loaded[k + 1]
    } else {
        clean.loaded[k]
    };
    assert_eq!(
        got.totals(),
        loaded,
        "{at}: ascending + descending is not the loads accepted"
    );
    let data = card.store().data();
    let resend = if data == pre.store().data() {
        figures.rolled_back += 1;
        true
    } else if data == post.store().data() {
        figures.complete += 1;
        false
    } else {
        figures.intermediate += 1;
        *figures
            .intermediate_by
            .entry(format!("{:02X}", step.command[1]))
            .or_default() += 1;
        true
    };

    // A host's first contact: SELECT and GET DATA status answer.
    let mut host = card.clone();
    for (what, apdu) in [
        ("SELECT", &v.steps[0].command[..]),
        ("GET DATA status", &[0x00, 0xCA, 0x00, 0xE0, 0x00][..]),
    ] {
        let answer = host
            .transmit(apdu)
            .unwrap_or_else(|e| panic!("{at}: {what} after power-up: {e}"));
        let sw = &answer[answer.len() - 2..];
        assert!(
            sw == [0x90, 0x00] || sw[0] == 0x61,
            "{at}: {what} after power-up answers {}",
            hex::encode_upper(sw)
        );
    }

    // The flow continues: the torn command again (unless it completed),
    // then the next one, each with its recorded answer.
    let mut cont = pre.clone();
    *cont.store_mut() = card.store().clone();
    let from = if resend { k } else { k + 1 };
    for (j, s) in v.steps.iter().enumerate().take(k + 2).skip(from) {
        let answer = cont
            .transmit(&s.command)
            .unwrap_or_else(|e| panic!("{at}: step {j} after power-up: {e}"));
        assert_eq!(
            hex::encode_upper(&answer),
            hex::encode_upper(&s.response),
            "{at}: step {j} ({}) after power-up",
            s.description
        );
        if j == k {
            assert!(
                cont.store().data() == post.store().data(),
                "{at}: the command sent again leaves another state than the recorded run"
            );
        }
    }
}

#[test]
fn every_write_of_every_command_of_every_flow() {
    let started = std::time::Instant::now();
    let vectors = load_all();
    assert!(vectors.len() >= 40, "only {} vectors", vectors.len());
    let mut total = Figures::default();
    let mut steps = 0;
    let mut table = Vec::new();
    for v in &vectors {
        let clean = clean_run(v);
        let mut figures = Figures::default();
        for k in 0..v.steps.len() {
            let w = clean.writes[k];
            if w > 0 {
                figures.commands += 1;
            }
            for n in 1..=w {
                tear(v, &clean, k, n, &mut figures);
                figures.tears += 1;
            }
        }
        steps += v.steps.len();
        table.push(format!(
            "{:<48} {:>3} steps {:>3} commands cut {:>5} tear points",
            v.name,
            v.steps.len(),
            figures.commands,
            figures.tears
        ));
        total.tears += figures.tears;
        total.commands += figures.commands;
        total.rolled_back += figures.rolled_back;
        total.intermediate += figures.intermediate;
        total.complete += figures.complete;
        for (ins, n) in figures.intermediate_by {
            *total.intermediate_by.entry(ins).or_default() += n;
        }
    }
    eprintln!("intermediate states by INS: {:?}", total.intermediate_by);
    for line in &table {
        eprintln!("{line}");
    }
    eprintln!(
        "tearing campaign: {} flows, {steps} steps, {} commands cut, {} tear points \
         ({} rolled back, {} intermediate, {} complete), 0 violations, {:.1} s",
        vectors.len(),
        total.commands,
        total.tears,
        total.rolled_back,
        total.intermediate,
        total.complete,
        started.elapsed().as_secs_f64()
    );
    assert_eq!(
        total.rolled_back + total.intermediate + total.complete,
        total.tears
    );
    // Only VERIFY (20) and CHANGE REFERENCE DATA (24) commit in several
    // transactions (the try counter first); every other command is all or
    // nothing.
    assert!(
        total
            .intermediate_by
            .keys()
            .all(|ins| ins == "20" || ins == "24"),
        "a command left a partial state: {:?}",
        total.intermediate_by
    );
    // Every flow writes (each starts with the PIN and personalization).
    assert!(total.tears > 1_000, "only {} tear points", total.tears);
}
