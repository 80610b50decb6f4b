//! The simulated card's state file as a file (issue "[trust]" point 6):
//! its format and integrity tag, its mode, links, damage. Each hole the
//! review found has a test here that fails on the untagged, 0644,
//! `PATH.tmp` state file of before.

use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};

use apdu::meter::{AID, Request};
use applet_sim::budget::PERSISTENT_CAPACITY;
use applet_sim::sim::{SimConfig, SimError, StateFile, reseal};
use sha2::{Digest, Sha256};

const HEADER: usize = 8;
const TAG: usize = 32;
const LEN: usize = HEADER + PERSISTENT_CAPACITY + TAG;

fn new_card() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("card.sim");
    drop(StateFile::create(&path, false, SimConfig::default()).unwrap());
    (tmp, path)
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn open(path: &Path) -> Result<StateFile, SimError> {
    StateFile::open(path, SimConfig::default())
}

/// A command that writes to the card: a wrong PIN (the try counter).
fn write_something(card: &mut StateFile) {
    let select = Request::Select { aid: AID }.to_command().to_vec().unwrap();
    card.transmit(&select).unwrap();
    card.transmit(&[0x00, 0x20, 0x00, 0x81, 4, 9, 9, 9, 9])
        .unwrap();
}

/// `CMSIMi` and the layout version, the image, and the SHA-256 of both.
#[test]
fn the_file_is_header_image_and_sha256() {
    let (_tmp, path) = new_card();
    let mut card = open(&path).unwrap();
    let image = card.card().store().image().to_vec();
    drop(card);
    let file = std::fs::read(&path).unwrap();
    assert_eq!(file.len(), LEN);
    assert_eq!(&file[..HEADER], tagged_header().as_slice());
    assert_eq!(&file[HEADER..HEADER + PERSISTENT_CAPACITY], &image[..]);
    let tag: [u8; TAG] = Sha256::digest(&file[..HEADER + PERSISTENT_CAPACITY]).into();
    assert_eq!(&file[HEADER + PERSISTENT_CAPACITY..], &tag);
}

/// Made 0600, and kept 0600 by every save; no temporary file is left.
#[test]
fn a_new_card_is_private() {
    let (tmp, path) = new_card();
    assert_eq!(mode(&path), 0o600);
    let mut card = open(&path).unwrap();
    write_something(&mut card);
    drop(card);
    assert_eq!(mode(&path), 0o600);
    let mut names: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["card.sim", "card.sim.lock"]);
    assert_eq!(mode(&tmp.path().join("card.sim.lock")) & 0o077, 0);
}

/// A card other users can read or change is refused, as ssh refuses a
/// private key, with the command that fixes it; the file is left as is.
#[test]
fn a_card_others_can_read_is_refused() {
    let (_tmp, path) = new_card();
    let before = std::fs::read(&path).unwrap();
    for m in [0o644, 0o640, 0o604, 0o620, 0o602, 0o666] {
        chmod(&path, m);
        let e = open(&path).err().unwrap();
        assert!(
            matches!(e, SimError::TooOpen { mode, .. } if mode == m),
            "{m:o}: {e}"
        );
        let message = e.to_string();
        assert!(
            message.contains(&format!("chmod 600 {}", path.display()))
                && message.contains(&format!("{m:04o}")),
            "{message}"
        );
        assert_eq!(mode(&path), m);
        assert_eq!(std::fs::read(&path).unwrap(), before);
    }
    chmod(&path, 0o400);
    drop(open(&path).unwrap());
    chmod(&path, 0o600);
    drop(open(&path).unwrap());
}

/// A planted `PATH.tmp` link (the old fixed temporary name) is not
/// followed, by the first save or by later ones: its target is unchanged.
#[test]
fn a_planted_tmp_link_is_not_followed() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("card.sim");
    let victim = tmp.path().join("victim");
    std::fs::write(&victim, b"precious").unwrap();
    symlink(&victim, tmp.path().join("card.sim.tmp")).unwrap();
    let mut card = StateFile::create(&path, false, SimConfig::default()).unwrap();
    write_something(&mut card);
    drop(card);
    let mut card = open(&path).unwrap();
    write_something(&mut card);
    drop(card);
    assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
    assert!(!std::fs::symlink_metadata(&path).unwrap().is_symlink());
    assert_eq!(std::fs::read(&path).unwrap().len(), LEN);
}

/// A link at the state file's path (or at its lock file's) is refused,
/// never followed, also with --force; the link's target is unchanged.
#[test]
fn a_linked_state_file_is_refused() {
    let (tmp, real) = new_card();
    let before = std::fs::read(&real).unwrap();
    let link = tmp.path().join("link.sim");
    symlink(&real, &link).unwrap();
    let e = open(&link).err().unwrap();
    assert!(matches!(e, SimError::Symlink(_)), "{e}");
    assert!(e.to_string().contains("symbolic link"), "{e}");
    for force in [false, true] {
        let e = StateFile::create(&link, force, SimConfig::default())
            .err()
            .unwrap();
        assert!(matches!(e, SimError::Symlink(_)), "{e}");
    }
    assert_eq!(std::fs::read(&real).unwrap(), before);
    assert!(std::fs::symlink_metadata(&link).unwrap().is_symlink());

    // The lock file.
    let other = tmp.path().join("other.sim");
    std::fs::copy(&real, &other).unwrap();
    let victim = tmp.path().join("victim");
    symlink(&victim, tmp.path().join("other.sim.lock")).unwrap();
    let e = open(&other).err().unwrap();
    assert!(matches!(e, SimError::Symlink(_)), "{e}");
    assert!(!victim.exists(), "the lock file's link was followed");
}

fn assert_damaged(path: &Path, what: &str) {
    let before = std::fs::read(path).unwrap();
    let e = open(path).err().unwrap_or_else(|| panic!("{what}: opened"));
    assert!(matches!(e, SimError::Damaged(..)), "{what}: {e}");
    let message = e.to_string();
    assert!(
        message.contains(&path.display().to_string()) && message.contains("altered or damaged"),
        "{what}: {message}"
    );
    assert_eq!(std::fs::read(path).unwrap(), before, "{what}: changed");
}

/// A flipped bit anywhere (header, image, tag) is refused, never read as
/// funds: in the header, in bytes the last command changed (the registers
/// among them, found without knowing the layout), and through the image and
/// the tag.
#[test]
fn a_flipped_byte_is_refused() {
    let (_tmp, path) = new_card();
    let before = std::fs::read(&path).unwrap();
    let mut card = open(&path).unwrap();
    write_something(&mut card);
    drop(card);
    let good = std::fs::read(&path).unwrap();
    let changed = (0..LEN).filter(|&i| before[i] != good[i]);
    let positions: Vec<usize> = (0..HEADER)
        .chain(changed)
        .chain((HEADER..LEN).step_by(211))
        .chain(LEN - TAG..LEN)
        .collect();
    for i in positions {
        for bit in [0x01, 0x80] {
            let mut bad = good.clone();
            bad[i] ^= bit;
            std::fs::write(&path, &bad).unwrap();
            assert_damaged(&path, &format!("bit {bit:02x} of byte {i}"));
        }
    }
    std::fs::write(&path, &good).unwrap();
    drop(open(&path).unwrap());
}

/// A file cut short (anywhere, also just its tag) or extended is refused.
#[test]
fn a_truncated_or_extended_file_is_refused() {
    let (_tmp, path) = new_card();
    let good = std::fs::read(&path).unwrap();
    for len in [0, 1, 5, 7, 8, 9, 100, LEN / 2, LEN - TAG, LEN - 1] {
        std::fs::write(&path, &good[..len]).unwrap();
        assert_damaged(&path, &format!("cut to {len} bytes"));
    }
    for extra in [1, TAG, 4096] {
        let mut long = good.clone();
        long.resize(LEN + extra, 0);
        std::fs::write(&path, &long).unwrap();
        assert_damaged(&path, &format!("extended by {extra} bytes"));
    }
    // Not a card at all: said so.
    std::fs::write(&path, b"#!/bin/sh\n").unwrap();
    assert!(matches!(open(&path), Err(SimError::BadStateFile(..))));
    // An altered card whose tag was recomputed opens: the tag is a
    // checksum against accidents, not against the card's owner.
    let mut resealed = good.clone();
    resealed[HEADER + 1] ^= 1;
    reseal(&mut resealed);
    std::fs::write(&path, &resealed).unwrap();
    drop(open(&path).unwrap());
}

/// An untagged `CMSIMv03` file (before this format; the v3 golden card)
/// opens as it is, is not rewritten by reading, and gets its tag at the
/// first command that writes; it opens again in the new format, image kept.
/// The header written today: `CMSIMi` and the layout version, two digits.
fn tagged_header() -> Vec<u8> {
    format!("CMSIMi{:02}", applet_sim::layout::VERSION).into_bytes()
}

#[test]
fn an_untagged_card_gets_its_tag_at_the_next_save() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("card.sim");
    // The untagged format with an image of the current layout (v5: the v5
    // golden card's image under a `CMSIMv05` header), so that opening
    // migrates nothing.
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/state_test_data/v5/card.sim");
    let tagged = std::fs::read(&golden).unwrap();
    let mut untagged = b"CMSIMv05".to_vec();
    untagged.extend_from_slice(&tagged[HEADER..HEADER + PERSISTENT_CAPACITY]);
    std::fs::write(&path, &untagged).unwrap();
    // As the old software made it.
    chmod(&path, 0o644);
    assert!(matches!(open(&path), Err(SimError::TooOpen { .. })));
    chmod(&path, 0o600);
    let old = std::fs::read(&path).unwrap();
    assert_eq!(&old[..HEADER], b"CMSIMv05");
    assert_eq!(old.len(), HEADER + PERSISTENT_CAPACITY);

    let mut card = open(&path).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), old, "rewritten by opening");
    write_something(&mut card);
    let image = card.card().store().image().to_vec();
    drop(card);
    let new = std::fs::read(&path).unwrap();
    assert_eq!(&new[..HEADER], tagged_header().as_slice());
    assert_eq!(&new[HEADER..HEADER + PERSISTENT_CAPACITY], &image[..]);
    assert_eq!(mode(&path), 0o600);
    let mut card = open(&path).unwrap();
    assert_eq!(card.card().store().image(), &image[..]);
    drop(card);

    // An untagged file cut short is refused as damaged too.
    std::fs::write(&path, &old[..old.len() - 1]).unwrap();
    assert_damaged(&path, "untagged, cut short");
}
