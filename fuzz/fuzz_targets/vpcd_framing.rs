//! The vpcd framing of `applet-sim` (`applet_sim::vpcd`): what vpcd sends
//! (2-byte length, then a control byte or an APDU) is served by `serve` to a
//! card in a state file, the bytes arriving in pieces of any size with read
//! timeouts and interrupted reads in between. Whatever arrives, `serve`
//! ends with a clean exit or an I/O error (never a panic, never a card
//! error), and what it wrote back is a sequence of whole frames, each an
//! ATR or a response with a status word. Also: `limit_ne` keeps a command
//! but its Le, and a payload framed by `write_frame` reads back the same.
#![no_main]

use std::io::{self, Cursor, Read, Write};
use std::sync::atomic::AtomicBool;
use std::sync::{Mutex, OnceLock};

use applet_sim::sim::{Card, SimConfig, StateFile};
use applet_sim::vpcd::{self, Exit, Frame, ServeError};
use libfuzzer_sys::fuzz_target;

/// vpcd's side: the input in pieces of `chunk` bytes, a read timeout every
/// `block_every` reads and an interrupted read every `interrupt_every`;
/// a read after a failed one always delivers (a peer that never sends
/// would keep `serve` waiting, as it should).
struct Peer<'a> {
    input: &'a [u8],
    chunk: usize,
    block_every: u64,
    interrupt_every: u64,
    reads: u64,
    failed: bool,
    out: Vec<u8>,
}

impl Read for Peer<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.reads += 1;
        let failed = std::mem::take(&mut self.failed);
        if !failed && self.block_every > 1 && self.reads.is_multiple_of(self.block_every) {
            self.failed = true;
            return Err(io::ErrorKind::WouldBlock.into());
        }
        if !failed && self.interrupt_every > 1 && self.reads % self.interrupt_every == 1 {
            self.failed = true;
            return Err(io::ErrorKind::Interrupted.into());
        }
        let n = self.chunk.min(buf.len()).min(self.input.len());
        buf[..n].copy_from_slice(&self.input[..n]);
        self.input = &self.input[n..];
        Ok(n)
    }
}

impl Write for Peer<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.out.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A state file of a fresh deterministic card, on tmpfs where there is one
/// (the card saves after each command that wrote), opened once; and that
/// card, put back in it before each input.
fn card_file() -> &'static (tempfile::TempDir, Mutex<StateFile>, Card) {
    static FILE: OnceLock<(tempfile::TempDir, Mutex<StateFile>, Card)> = OnceLock::new();
    FILE.get_or_init(|| {
        let dir = tempfile::Builder::new()
            .prefix("certmeter-fuzz-vpcd")
            .tempdir_in(if std::path::Path::new("/dev/shm").is_dir() {
                "/dev/shm".into()
            } else {
                std::env::temp_dir()
            })
            .expect("a temporary directory");
        let path = dir.path().join("card");
        let mut file = StateFile::create(&path, false, config()).expect("a state file");
        let card = file.card().clone();
        (dir, Mutex::new(file), card)
    })
}

fn config() -> SimConfig {
    SimConfig::deterministic(5, 1_800_000_000)
}

fuzz_target!(|data: &[u8]| {
    let [a, b, c, input @ ..] = data else {
        return;
    };
    // Framing of the input itself: a frame written reads back the same.
    if input.len() <= vpcd::MAX_PAYLOAD {
        let mut framed = Vec::new();
        vpcd::write_frame(&mut framed, input).expect("a payload within the limit frames");
        let mut back = Vec::new();
        let got = vpcd::read_frame(
            &mut Cursor::new(&framed),
            &mut back,
            &AtomicBool::new(false),
        );
        assert_eq!(got.ok(), Some(Frame::Message));
        assert_eq!(back, input);
    }
    if let Some(limited) = vpcd::limit_ne(input) {
        let (orig, new) = (
            apdu::Command::parse(input).expect("limit_ne only rewrites commands"),
            apdu::Command::parse(&limited).expect("limit_ne writes a command"),
        );
        assert_eq!(new.le, Some(vpcd::MAX_NE));
        assert_eq!(
            (orig.cla, orig.ins, orig.p1, orig.p2, orig.data),
            (new.cla, new.ins, new.p1, new.p2, new.data)
        );
    }

    let (_, file, fresh) = card_file();
    let mut card = file.lock().unwrap_or_else(|e| e.into_inner());
    *card.card() = fresh.clone();
    let mut peer = Peer {
        input,
        chunk: usize::from(*a) + 1,
        block_every: u64::from(*b % 16),
        interrupt_every: u64::from(*c % 16),
        reads: 0,
        failed: false,
        out: Vec::new(),
    };
    match vpcd::serve(&mut peer, &mut card, &AtomicBool::new(false)) {
        Ok(Exit::Disconnected | Exit::Mute) => {}
        Ok(Exit::Shutdown) => panic!("shutdown without the flag"),
        Err(ServeError::Io(e)) => assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof, "{e}"),
        Err(ServeError::Card(e)) => panic!("the card failed: {e}"),
    }
    // What went back: whole frames, each the ATR or data + SW1 SW2.
    let mut back = Cursor::new(&peer.out);
    let mut payload = Vec::new();
    loop {
        match vpcd::read_frame(&mut back, &mut payload, &AtomicBool::new(false)) {
            Ok(Frame::Message) => {
                assert!(payload.len() >= 2, "a reply of {} bytes", payload.len());
            }
            Ok(Frame::Closed) => break,
            other => panic!("the card wrote a broken frame: {other:?}"),
        }
    }
});
