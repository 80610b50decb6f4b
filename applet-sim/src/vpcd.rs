//! Puts the simulated card in a PC/SC reader: a client of vsmartcard's
//! `vpcd`, the virtual reader driver that runs inside `pcscd`.
//!
//! # The vpcd protocol
//!
//! `vpcd` listens on TCP (port 35963 is the reader "Virtual PCD 00 00",
//! 35964 "Virtual PCD 00 01"); the card connects to it as a client. A
//! connected socket is a card in the reader, a closed socket is a card
//! removed. `vpcd` always speaks first. Every message, both ways, is a
//! 2-byte big-endian length and then that many payload bytes
//! ([`read_frame`], [`write_frame`]):
//!
//! | from vpcd | meaning | card's reply |
//! | --- | --- | --- |
//! | `00` | power off | none |
//! | `01` | power on | none |
//! | `02` | reset | none |
//! | `04` | get ATR (also pcscd's presence poll, every ~400 ms) | the ATR |
//! | 2 bytes or more | a command APDU | response data, SW1, SW2 |
//!
//! Other 1-byte messages are not defined by vpcd and are ignored (no reply);
//! empty messages likewise.
//!
//! # A mute card
//!
//! When the simulated card loses power in the middle of a command
//! ([`SimError::Mute`], e.g. tearing) it has no answer to give. A real
//! reader would time out, but `vpcd` has none: it blocks in `recv` until an
//! answer or the end of the stream, so the card must not stay silent.
//! [`serve`] answers nothing and ends the session ([`Exit::Mute`]); the
//! caller **closes the connection**. vpcd then ejects the card and hands
//! pcscd an empty response (`opensc-tool`: "APDU transmit failed: Unknown
//! data received from card"), and the reader shows the card removed.
//! An empty message instead would not do: vpcd's `recv` of 0 bytes with
//! `MSG_WAITALL` waits for more data, so vpcd (and pcscd with it) would
//! hang until the socket closed anyway.
//!
//! [`VpcdClient::run`] then keeps the card out of the reader for
//! [`VpcdClient::removal_dwell`] (long enough for pcscd's presence poll to
//! notice), and reinserts it: pcscd powers it on, and power-up recovers the
//! interrupted transaction, as for a real card pulled and reinserted. A card
//! that leaves the reader for any reason is powered off.
//!
//! # Latency
//!
//! Debian's vpcd writes the length and the payload in two `send`s on a
//! socket without `TCP_NODELAY`: Nagle's algorithm holds the payload until
//! the length is acknowledged, and a delayed ACK on the card's side costs
//! ~40 ms per APDU. [`VpcdStream`] therefore re-arms `TCP_QUICKACK` before
//! every read (the kernel clears it again on its own) and sets
//! `TCP_NODELAY`; the card's own replies go out in one write.
//!
//! What remains is waking processes: an APDU through pcscd wakes four
//! (pcscd, the card, pcscd, the application). On a virtual machine a
//! wake-up of a sleeping vCPU costs tens of microseconds, so the card does
//! not go to sleep at once: each read first polls the socket without
//! blocking for [`VpcdClient::spin`] ([`DEFAULT_SPIN`], 200 µs), then
//! blocks. The next APDU of a flow arrives inside that window and finds the
//! card awake: a short APDU through pcscd took 70 µs instead of 100-107 µs
//! on the 2-vCPU machine of docs/performance.md (50 µs: 83 µs; 100 µs:
//! 73 µs; 500 µs: 72 µs). An idle card spins 200 µs after each of pcscd's
//! presence polls (every ~400 ms), 0.05% of a CPU; `--spin-us 0` turns it
//! off.
//!
//! # Responses longer than a message
//!
//! A message holds at most 65,535 bytes, but an extended `Le` of `0000`
//! asks for 65,536 data bytes plus the status word. [`limit_ne`] lowers such
//! an `Le` to 65,533 before the card sees the command, so the card itself
//! splits a longer answer with `61xx` / GET RESPONSE instead of the
//! transport truncating it.
//!
//! A command must fit one message too: an extended APDU carries at most
//! [`MAX_NC`] data bytes ([`MAX_NC_WITH_LE`] with an `Le`), fewer than the
//! 65,535 the card takes. Longer data goes in several commands or chained.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use apdu::Command;

use crate::sim::{ATR, SimError, StateFile};

/// Where vpcd listens by default: the first virtual reader on this host.
pub const DEFAULT_ADDR: &str = "127.0.0.1:35963";

/// The largest payload of one message (its length field is 16 bits).
pub const MAX_PAYLOAD: usize = u16::MAX as usize;

/// The most response data bytes a command may ask for through vpcd: a
/// response is data plus the 2-byte status word in one message.
pub const MAX_NE: usize = MAX_PAYLOAD - 2;

/// The most command data bytes one extended APDU without `Le` (case 3E) can
/// carry through vpcd: the header (4 bytes) and the extended `Lc` (3) share
/// the message with the data. pcscd hands a longer APDU to vpcd, which
/// cannot frame it, and pcscd then drops the card.
pub const MAX_NC: usize = MAX_PAYLOAD - 4 - 3;

/// The same with an extended `Le` (case 4E): 2 bytes fewer.
pub const MAX_NC_WITH_LE: usize = MAX_NC - 2;

/// How long a read waits before [`serve`] looks at the shutdown flag again.
pub const POLL_INTERVAL: Duration = Duration::from_millis(200);

/// How long a read polls the socket before it blocks (see "Latency").
pub const DEFAULT_SPIN: Duration = Duration::from_micros(200);

/// The control bytes vpcd sends as 1-byte messages.
pub mod control {
    /// Power off: the card loses its volatile state. No reply.
    pub const POWER_OFF: u8 = 0x00;
    /// Power on (cold reset). No reply.
    pub const POWER_ON: u8 = 0x01;
    /// Warm reset. No reply.
    pub const RESET: u8 = 0x02;
    /// Get the ATR; the reply is the ATR.
    pub const GET_ATR: u8 = 0x04;
}

/// How a session with vpcd ended without an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// The shutdown flag was set.
    Shutdown,
    /// vpcd closed the connection between two messages (pcscd stopped, or
    /// it ejected the card).
    Disconnected,
    /// The card went mute during a command and was not answered: the
    /// caller must close the connection, which removes the card from the
    /// reader (and unblocks vpcd).
    Mute,
}

/// Why serving the card failed.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The connection to vpcd failed (the session is over; reconnect).
    #[error("connection to vpcd: {0}")]
    Io(#[from] io::Error),
    /// The simulated card failed, e.g. its state file could not be saved
    /// (not worth reconnecting for).
    #[error(transparent)]
    Card(SimError),
}

/// What [`read_frame`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Frame {
    /// A whole message; its payload is in the buffer.
    Message,
    /// The peer closed the connection between two messages.
    Closed,
    /// The shutdown flag was set while waiting. A message begun but not
    /// finished is abandoned: the caller must drop the connection.
    Shutdown,
}

/// Writes one message: the 2-byte big-endian length, then `payload`, in a
/// single write.
///
/// Fails with [`io::ErrorKind::InvalidInput`] (writing nothing) when the
/// payload is longer than [`MAX_PAYLOAD`].
pub fn write_frame<W: Write + ?Sized>(w: &mut W, payload: &[u8]) -> io::Result<()> {
    let len = u16::try_from(payload.len()).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "a vpcd message holds at most {MAX_PAYLOAD} bytes, not {}",
                payload.len()
            ),
        )
    })?;
    let mut message = Vec::with_capacity(2 + payload.len());
    message.extend_from_slice(&len.to_be_bytes());
    message.extend_from_slice(payload);
    w.write_all(&message)?;
    w.flush()
}

/// Reads one message into `payload` (replacing its contents).
///
/// Read timeouts (`WouldBlock`, `TimedOut`) and interrupted reads are
/// retried without losing the bytes already read, so a stream with a short
/// read timeout stays in step with the framing; at each timeout, and before
/// a message starts, the `shutdown` flag is looked at.
///
/// End of stream before a message starts is [`Frame::Closed`]; inside a
/// message it is an [`io::ErrorKind::UnexpectedEof`] error.
pub fn read_frame<R: Read + ?Sized>(
    r: &mut R,
    payload: &mut Vec<u8>,
    shutdown: &AtomicBool,
) -> io::Result<Frame> {
    payload.clear();
    if shutdown.load(Ordering::SeqCst) {
        return Ok(Frame::Shutdown);
    }
    let mut header = [0u8; 2];
    match fill(r, &mut header, shutdown)? {
        Fill::Full => {}
        Fill::Eof(0) => return Ok(Frame::Closed),
        Fill::Eof(_) => return Err(truncated("length")),
        Fill::Shutdown => return Ok(Frame::Shutdown),
    }
    payload.resize(usize::from(u16::from_be_bytes(header)), 0);
    match fill(r, payload, shutdown)? {
        Fill::Full => Ok(Frame::Message),
        Fill::Eof(_) => Err(truncated("payload")),
        Fill::Shutdown => {
            payload.clear();
            Ok(Frame::Shutdown)
        }
    }
}

enum Fill {
    Full,
    /// End of stream after this many bytes.
    Eof(usize),
    Shutdown,
}

/// Like `read_exact`, but keeps its place across read timeouts.
fn fill<R: Read + ?Sized>(r: &mut R, buf: &mut [u8], shutdown: &AtomicBool) -> io::Result<Fill> {
    let mut got = 0;
    while let Some(rest) = buf.get_mut(got..).filter(|rest| !rest.is_empty()) {
        match r.read(rest) {
            Ok(0) => return Ok(Fill::Eof(got)),
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                if shutdown.load(Ordering::SeqCst) {
                    return Ok(Fill::Shutdown);
                }
            }
            Err(e) => return Err(e),
        }
    }
    Ok(Fill::Full)
}

fn truncated(part: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        format!("vpcd closed the connection in the middle of a message ({part})"),
    )
}

/// The card's answer to one message from vpcd.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// Nothing is sent back (power off, power on, reset, unknown control
    /// byte, empty message).
    None,
    /// This payload is sent back (the ATR, or a response APDU).
    Payload(Vec<u8>),
    /// The card is mute: nothing is sent back and the session ends (the
    /// connection must be closed).
    Mute,
}

/// The card's answer to one message (see the table in the module
/// documentation). The state file is saved after every command that wrote
/// and after power-up recovery.
///
/// Fails only when the card's state file cannot be saved.
pub fn respond(card: &mut StateFile, message: &[u8]) -> Result<Reply, SimError> {
    match message {
        [] => Ok(Reply::None),
        &[control::POWER_OFF] => {
            card.card().power_off();
            Ok(Reply::None)
        }
        &[control::POWER_ON] => {
            card.card().power_on();
            card.save_if_dirty()?;
            Ok(Reply::None)
        }
        &[control::RESET] => {
            card.card().reset();
            card.save_if_dirty()?;
            Ok(Reply::None)
        }
        &[control::GET_ATR] => Ok(Reply::Payload(ATR.to_vec())),
        [_] => Ok(Reply::None),
        apdu => {
            let limited = limit_ne(apdu);
            match card.transmit(limited.as_deref().unwrap_or(apdu)) {
                Ok(response) => Ok(Reply::Payload(response)),
                Err(SimError::Mute) => Ok(Reply::Mute),
                Err(e) => Err(e),
            }
        }
    }
}

/// If `apdu` is a command asking for more than [`MAX_NE`] response bytes,
/// the same command asking for [`MAX_NE`]; otherwise `None` (send it
/// unchanged). Bytes that do not parse as a command are left alone.
pub fn limit_ne(apdu: &[u8]) -> Option<Vec<u8>> {
    let cmd = Command::parse(apdu).ok()?;
    if cmd.le? <= MAX_NE {
        return None;
    }
    Command {
        le: Some(MAX_NE),
        extended: true,
        ..cmd
    }
    .to_vec()
    .ok()
}

/// Serves `card` on an established connection to vpcd until vpcd closes
/// it, the card goes mute, or `shutdown` is set. After [`Exit::Mute`] (and
/// [`Exit::Shutdown`]) the caller must close the connection.
///
/// `stream` should time out its reads (e.g. after [`POLL_INTERVAL`]) so that
/// the shutdown flag is seen while vpcd is quiet; [`VpcdStream`] does.
pub fn serve<S: Read + Write + ?Sized>(
    stream: &mut S,
    card: &mut StateFile,
    shutdown: &AtomicBool,
) -> Result<Exit, ServeError> {
    let mut message = Vec::with_capacity(MAX_PAYLOAD);
    loop {
        match read_frame(stream, &mut message, shutdown)? {
            Frame::Message => {}
            Frame::Closed => return Ok(Exit::Disconnected),
            Frame::Shutdown => return Ok(Exit::Shutdown),
        }
        match respond(card, &message).map_err(ServeError::Card)? {
            Reply::None => {}
            Reply::Payload(payload) => write_frame(stream, &payload)?,
            Reply::Mute => return Ok(Exit::Mute),
        }
    }
}

/// A TCP connection to vpcd with the socket options that keep an APDU
/// round trip in the tens of microseconds: `TCP_NODELAY`, and `TCP_QUICKACK`
/// re-armed before every read (Linux; elsewhere reads are plain), and a
/// read that polls for a while before it blocks (see "Latency").
#[derive(Debug)]
pub struct VpcdStream {
    stream: TcpStream,
    spin: Duration,
}

impl VpcdStream {
    /// Connects to vpcd at `addr` (`HOST:PORT`), trying each address it
    /// resolves to for at most `timeout`, and sets the socket options, a
    /// read timeout of [`POLL_INTERVAL`] and a write timeout of 10 s.
    pub fn connect(addr: &str, timeout: Duration) -> io::Result<Self> {
        let mut last = None;
        for a in addr.to_socket_addrs()? {
            match TcpStream::connect_timeout(&a, timeout) {
                Ok(stream) => return Self::from_stream(stream),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                format!("{addr} resolves to no address"),
            )
        }))
    }

    /// Wraps a connected stream and sets its options (as [`Self::connect`]).
    pub fn from_stream(stream: TcpStream) -> io::Result<Self> {
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(POLL_INTERVAL))?;
        stream.set_write_timeout(Some(Duration::from_secs(10)))?;
        Ok(VpcdStream {
            stream,
            spin: DEFAULT_SPIN,
        })
    }

    /// Sets how long each read polls before it blocks (zero: it blocks at
    /// once).
    pub fn with_spin(mut self, spin: Duration) -> Self {
        self.spin = spin;
        self
    }

    /// Polls the socket without blocking for up to `self.spin`. `None`: no
    /// data came in that time.
    fn read_spinning(&mut self, buf: &mut [u8]) -> Option<io::Result<usize>> {
        if let Err(e) = self.stream.set_nonblocking(true) {
            return Some(Err(e));
        }
        let start = Instant::now();
        let got = loop {
            match self.stream.read(buf) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if start.elapsed() >= self.spin {
                        break None;
                    }
                    std::hint::spin_loop();
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                done => break Some(done),
            }
        };
        // Writes and the blocking read below need a blocking socket.
        match self.stream.set_nonblocking(false) {
            Ok(()) => got,
            Err(e) => Some(Err(e)),
        }
    }

    /// The underlying stream.
    pub fn get_ref(&self) -> &TcpStream {
        &self.stream
    }
}

impl Read for VpcdStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // Not sticky: the kernel leaves quick-ACK mode by itself, so arm it
        // for every segment we wait for.
        #[cfg(target_os = "linux")]
        socket2::SockRef::from(&self.stream).set_tcp_quickack(true)?;
        if !self.spin.is_zero()
            && let Some(done) = self.read_spinning(buf)
        {
            return done;
        }
        self.stream.read(buf)
    }
}

impl Write for VpcdStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.stream.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.stream.flush()
    }
}

/// A change of state of [`VpcdClient::run`], for a one-line log.
#[derive(Debug)]
pub enum Event<'a> {
    /// Connecting failed; retrying with back-off until it works. Reported
    /// once per stretch of failures.
    Waiting {
        /// The vpcd address.
        addr: &'a str,
        /// The first failure.
        error: &'a io::Error,
    },
    /// Connected: the card is in the reader.
    Connected {
        /// The vpcd address.
        addr: &'a str,
    },
    /// The session ended and the card is out of the reader.
    Disconnected {
        /// How it ended ([`Exit::Shutdown`] is not reported).
        exit: Result<Exit, &'a io::Error>,
    },
}

impl fmt::Display for Event<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Waiting { addr, error } => {
                write!(f, "waiting for pcscd (vpcd) at {addr}: {error}")
            }
            Event::Connected { addr } => write!(f, "connected to vpcd at {addr}: card inserted"),
            Event::Disconnected { exit } => match exit {
                Ok(Exit::Disconnected) => {
                    write!(f, "disconnected: vpcd closed the connection (card removed)")
                }
                Ok(Exit::Mute) => write!(
                    f,
                    "disconnected: the card lost power during a command (mute): \
                     removed from the reader, reinserting"
                ),
                Ok(Exit::Shutdown) => write!(f, "disconnected: shutting down"),
                Err(e) => write!(f, "disconnected: {e} (card removed)"),
            },
        }
    }
}

/// Keeps a card connected to vpcd: connects, serves, and reconnects with
/// back-off while pcscd is down or after the connection drops.
#[derive(Clone, Debug)]
pub struct VpcdClient {
    /// vpcd's address, `HOST:PORT` ([`DEFAULT_ADDR`]).
    pub addr: String,
    /// The first wait between failed connection attempts (50 ms); it
    /// doubles after each failure up to [`Self::max_backoff`].
    pub min_backoff: Duration,
    /// The longest wait between connection attempts (2 s).
    pub max_backoff: Duration,
    /// How long the card stays out of the reader after a session ends
    /// before it reconnects (1 s: pcscd polls presence every ~400 ms and
    /// must see the removal, so that it powers the card on again).
    pub removal_dwell: Duration,
    /// The timeout of one connection attempt (2 s).
    pub connect_timeout: Duration,
    /// How long each read polls before it blocks ([`DEFAULT_SPIN`]; see
    /// "Latency").
    pub spin: Duration,
}

impl VpcdClient {
    /// A client for vpcd at `addr` with the default timings.
    pub fn new(addr: impl Into<String>) -> Self {
        VpcdClient {
            addr: addr.into(),
            min_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_secs(2),
            removal_dwell: Duration::from_secs(1),
            connect_timeout: Duration::from_secs(2),
            spin: DEFAULT_SPIN,
        }
    }

    /// Serves `card` through vpcd until `shutdown` is set, reporting each
    /// change of state to `log`. The card is powered off whenever it leaves
    /// the reader; its state file is saved after every write.
    ///
    /// Returns `Ok` once `shutdown` is set, and an error only when the card
    /// itself fails (its state file cannot be saved).
    pub fn run(
        &self,
        card: &mut StateFile,
        shutdown: &AtomicBool,
        mut log: impl FnMut(Event<'_>),
    ) -> Result<(), SimError> {
        let mut backoff = self.min_backoff;
        let mut waiting = false;
        while !shutdown.load(Ordering::SeqCst) {
            let mut stream = match VpcdStream::connect(&self.addr, self.connect_timeout) {
                Ok(s) => s.with_spin(self.spin),
                Err(error) => {
                    if !waiting {
                        log(Event::Waiting {
                            addr: &self.addr,
                            error: &error,
                        });
                        waiting = true;
                    }
                    sleep_unless(shutdown, backoff);
                    backoff = (backoff * 2).min(self.max_backoff);
                    continue;
                }
            };
            waiting = false;
            backoff = self.min_backoff;
            log(Event::Connected { addr: &self.addr });
            let end = serve(&mut stream, card, shutdown);
            drop(stream);
            card.card().power_off();
            match end {
                Ok(Exit::Shutdown) => break,
                Ok(exit) => log(Event::Disconnected { exit: Ok(exit) }),
                Err(ServeError::Io(e)) => log(Event::Disconnected { exit: Err(&e) }),
                Err(ServeError::Card(e)) => return Err(e),
            }
            sleep_unless(shutdown, self.removal_dwell);
        }
        card.save_if_dirty()
    }
}

/// Sleeps for `d`, waking early when `shutdown` is set.
fn sleep_unless(shutdown: &AtomicBool, d: Duration) {
    let end = Instant::now() + d;
    while !shutdown.load(Ordering::SeqCst) {
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        std::thread::sleep(left.min(Duration::from_millis(20)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::SimConfig;
    use std::io::Cursor;
    use std::net::TcpListener;
    use std::sync::Arc;

    const SELECT: &[u8] = &[
        0x00, 0xA4, 0x04, 0x00, 0x0B, 0xF0, 0x43, 0x45, 0x52, 0x54, 0x4D, 0x45, 0x54, 0x45, 0x52,
        0x01,
    ];

    fn frame(payload: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        write_frame(&mut v, payload).unwrap();
        v
    }

    fn new_card(dir: &tempfile::TempDir) -> StateFile {
        StateFile::create(
            &dir.path().join("card.sim"),
            false,
            SimConfig::deterministic(7, 1_700_000_000),
        )
        .unwrap()
    }

    /// vpcd's side of an in-memory connection: scripted input, recorded
    /// output.
    struct Duplex {
        input: Cursor<Vec<u8>>,
        output: Vec<u8>,
    }

    impl Read for Duplex {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.input.read(buf)
        }
    }

    impl Write for Duplex {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.output.write(buf)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn frames(mut bytes: &[u8]) -> Vec<Vec<u8>> {
        let never = AtomicBool::new(false);
        let mut out = Vec::new();
        loop {
            let mut p = Vec::new();
            match read_frame(&mut bytes, &mut p, &never).unwrap() {
                Frame::Message => out.push(p),
                Frame::Closed => return out,
                Frame::Shutdown => unreachable!(),
            }
        }
    }

    #[test]
    fn frames_round_trip_up_to_the_largest_payload() {
        let never = AtomicBool::new(false);
        for len in [0, 1, 2, 255, 4096, 65_000, MAX_PAYLOAD] {
            let payload: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
            let bytes = frame(&payload);
            assert_eq!(bytes.len(), len + 2);
            assert_eq!(&bytes[..2], &(len as u16).to_be_bytes());
            let mut r = bytes.as_slice();
            let mut got = vec![0xEE; 3];
            assert_eq!(
                read_frame(&mut r, &mut got, &never).unwrap(),
                Frame::Message
            );
            assert_eq!(got, payload);
            assert_eq!(read_frame(&mut r, &mut got, &never).unwrap(), Frame::Closed);
        }
    }

    #[test]
    fn the_longest_extended_commands_fill_one_message() {
        let data = vec![0x5A; MAX_NC + 1];
        let encoded = |nc: usize, le: Option<usize>| {
            Command::new(0x80, 0x2A, 0x01, 0x00, &data[..nc], le)
                .to_vec()
                .unwrap()
        };
        let mut out = Vec::new();
        for (nc, le) in [(MAX_NC, None), (MAX_NC_WITH_LE, Some(256))] {
            assert_eq!(encoded(nc, le).len(), MAX_PAYLOAD);
            write_frame(&mut out, &encoded(nc, le)).unwrap();
            assert!(write_frame(&mut out, &encoded(nc + 1, le)).is_err());
        }
    }

    #[test]
    fn a_payload_over_65535_bytes_is_refused_not_truncated() {
        let mut out = Vec::new();
        let e = write_frame(&mut out, &vec![0; MAX_PAYLOAD + 1]).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        assert!(out.is_empty());
    }

    /// Gives out one byte per read, with a read timeout before every byte.
    struct Trickle {
        bytes: Vec<u8>,
        pos: usize,
        timed_out: bool,
    }

    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.timed_out = !self.timed_out;
            if self.timed_out {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            match (self.bytes.get(self.pos), buf.first_mut()) {
                (Some(&b), Some(slot)) => {
                    *slot = b;
                    self.pos += 1;
                    Ok(1)
                }
                _ => Ok(0),
            }
        }
    }

    #[test]
    fn timeouts_inside_a_message_keep_the_framing() {
        let never = AtomicBool::new(false);
        let big: Vec<u8> = (0..65_000u32).map(|i| i as u8).collect();
        let mut bytes = frame(&[0x04]);
        bytes.extend(frame(&big));
        bytes.extend(frame(SELECT));
        let mut r = Trickle {
            bytes,
            pos: 0,
            timed_out: false,
        };
        let mut p = Vec::new();
        for want in [&[0x04][..], &big, SELECT] {
            assert_eq!(read_frame(&mut r, &mut p, &never).unwrap(), Frame::Message);
            assert_eq!(p, want);
        }
        assert_eq!(read_frame(&mut r, &mut p, &never).unwrap(), Frame::Closed);
    }

    #[test]
    fn end_of_stream_inside_a_message_is_an_error() {
        let never = AtomicBool::new(false);
        let mut p = Vec::new();
        for bytes in [&[0x00][..], &[0x00, 0x03, 0xAA]] {
            let e = read_frame(&mut &bytes[..], &mut p, &never).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
        }
    }

    #[test]
    fn shutdown_is_seen_between_messages_and_at_timeouts() {
        let stop = AtomicBool::new(true);
        let mut p = Vec::new();
        let bytes = frame(SELECT);
        assert_eq!(
            read_frame(&mut bytes.as_slice(), &mut p, &stop).unwrap(),
            Frame::Shutdown
        );
        // Half a length, then only timeouts: shutdown ends the wait.
        struct Stall<'a>(&'a AtomicBool, bool);
        impl Read for Stall<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                if std::mem::replace(&mut self.1, true) {
                    self.0.store(true, Ordering::SeqCst);
                    return Err(io::ErrorKind::TimedOut.into());
                }
                buf[0] = 0x00;
                Ok(1)
            }
        }
        let flag = AtomicBool::new(false);
        let mut s = Stall(&flag, false);
        assert_eq!(read_frame(&mut s, &mut p, &flag).unwrap(), Frame::Shutdown);
    }

    #[test]
    fn serves_atr_power_and_select() {
        let dir = tempfile::tempdir().unwrap();
        let mut card = new_card(&dir);
        let mut input = Vec::new();
        for m in [
            &[control::GET_ATR][..],
            &[control::POWER_ON],
            SELECT,
            &[control::RESET],
            &[control::GET_ATR],
            SELECT,
            &[0x03],
            &[],
            &[control::POWER_OFF],
        ] {
            input.extend(frame(m));
        }
        let mut link = Duplex {
            input: Cursor::new(input),
            output: Vec::new(),
        };
        let never = AtomicBool::new(false);
        let exit = serve(&mut link, &mut card, &never).unwrap();
        assert_eq!(exit, Exit::Disconnected);
        let replies = frames(&link.output);
        assert_eq!(replies.len(), 4, "replies only to get ATR and APDUs");
        assert_eq!(replies[0], ATR);
        assert!(replies[1].ends_with(&[0x90, 0x00]), "{:02X?}", replies[1]);
        assert_eq!(replies[2], ATR);
        assert!(replies[3].ends_with(&[0x90, 0x00]), "{:02X?}", replies[3]);
        assert!(!card.card().is_powered());
    }

    #[test]
    fn a_mute_card_answers_nothing_and_ends_the_session() {
        let dir = tempfile::tempdir().unwrap();
        let mut card = new_card(&dir);
        let mut input = Vec::new();
        for m in [&[control::POWER_OFF][..], SELECT, &[control::GET_ATR]] {
            input.extend(frame(m));
        }
        let mut link = Duplex {
            input: Cursor::new(input),
            output: Vec::new(),
        };
        let never = AtomicBool::new(false);
        assert_eq!(serve(&mut link, &mut card, &never).unwrap(), Exit::Mute);
        assert!(link.output.is_empty(), "{:02X?}", link.output);
        assert!(!card.card().is_powered());
    }

    #[test]
    fn le_beyond_a_message_is_lowered() {
        // GET DATA 00E1, extended Le 0000 (65536).
        let asks_all = [0x00, 0xCA, 0x00, 0xE1, 0x00, 0x00, 0x00];
        assert_eq!(
            limit_ne(&asks_all).unwrap(),
            [0x00, 0xCA, 0x00, 0xE1, 0x00, 0xFF, 0xFD]
        );
        // With data: extended Lc, data, Le 0000.
        let case4 = [
            0x80, 0x10, 0x00, 0x00, 0x00, 0x00, 0x02, 0xAB, 0xCD, 0x00, 0x00,
        ];
        assert_eq!(
            limit_ne(&case4).unwrap(),
            [
                0x80, 0x10, 0x00, 0x00, 0x00, 0x00, 0x02, 0xAB, 0xCD, 0xFF, 0xFD
            ]
        );
        for unchanged in [
            SELECT,
            &[0x00, 0xCA, 0x00, 0xE1, 0x00][..],
            &[0x00, 0xCA, 0x00, 0xE1, 0x00, 0xFF, 0xFD],
            &[0x00, 0xCA, 0x00],
        ] {
            assert_eq!(limit_ne(unchanged), None);
        }
    }

    /// A fake vpcd on loopback that, like Debian's, writes the length and
    /// the payload in two sends without TCP_NODELAY.
    fn vpcd_send(s: &mut TcpStream, payload: &[u8]) {
        s.write_all(&(payload.len() as u16).to_be_bytes()).unwrap();
        s.write_all(payload).unwrap();
    }

    fn vpcd_recv(s: &mut TcpStream) -> Vec<u8> {
        let mut h = [0; 2];
        s.read_exact(&mut h).unwrap();
        let mut p = vec![0; usize::from(u16::from_be_bytes(h))];
        s.read_exact(&mut p).unwrap();
        p
    }

    #[test]
    fn client_connects_serves_and_reconnects_over_tcp() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let dir = tempfile::tempdir().unwrap();
        let mut card = new_card(&dir);
        let shutdown = Arc::new(AtomicBool::new(false));
        let stop = Arc::clone(&shutdown);
        let client = VpcdClient {
            removal_dwell: Duration::from_millis(50),
            ..VpcdClient::new(addr)
        };
        let runner = std::thread::spawn(move || {
            let mut events = Vec::new();
            client
                .run(&mut card, &stop, |e| events.push(e.to_string()))
                .unwrap();
            events
        });

        for session in 0..2 {
            let (mut s, _) = listener.accept().unwrap();
            vpcd_send(&mut s, &[control::POWER_ON]);
            vpcd_send(&mut s, &[control::GET_ATR]);
            assert_eq!(vpcd_recv(&mut s), ATR);
            vpcd_send(&mut s, SELECT);
            assert!(vpcd_recv(&mut s).ends_with(&[0x90, 0x00]));
            // Many round trips with vpcd's split writes (speed is measured
            // by the benchmark, not here).
            for _ in 0..200 {
                vpcd_send(&mut s, &[0x00, 0xCA, 0x00, 0xE1, 0x00]);
                assert_eq!(vpcd_recv(&mut s).len(), 2 + 2);
            }
            if session == 1 {
                // A command the card has no power for: the card closes the
                // connection without an answer.
                vpcd_send(&mut s, &[control::POWER_OFF]);
                vpcd_send(&mut s, SELECT);
                let mut rest = Vec::new();
                s.read_to_end(&mut rest).unwrap();
                assert!(rest.is_empty(), "{rest:02X?}");
            }
        } // session 0: vpcd closing the socket removes the card
        let (mut s, _) = listener.accept().unwrap();
        shutdown.store(true, Ordering::SeqCst);
        let events = runner.join().unwrap();
        // The client closed its side on shutdown.
        let mut rest = Vec::new();
        s.read_to_end(&mut rest).unwrap();
        assert!(rest.is_empty());
        assert_eq!(events.len(), 5, "{events:#?}");
        assert!(events[0].starts_with("connected"), "{events:#?}");
        assert!(
            events[1].contains("vpcd closed the connection"),
            "{events:#?}"
        );
        assert!(events[2].starts_with("connected"), "{events:#?}");
        assert!(events[3].contains("mute"), "{events:#?}");
        assert!(events[4].starts_with("connected"), "{events:#?}");
    }

    #[test]
    fn client_waits_for_vpcd_and_stops_on_shutdown() {
        // A port nobody listens on.
        let addr = {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().to_string()
        };
        let dir = tempfile::tempdir().unwrap();
        let mut card = new_card(&dir);
        let shutdown = AtomicBool::new(false);
        let mut events = Vec::new();
        std::thread::scope(|s| {
            s.spawn(|| {
                std::thread::sleep(Duration::from_millis(300));
                shutdown.store(true, Ordering::SeqCst);
            });
            VpcdClient::new(addr.clone())
                .run(&mut card, &shutdown, |e| events.push(e.to_string()))
                .unwrap();
        });
        assert_eq!(events.len(), 1, "one line per state change: {events:?}");
        assert!(
            events[0].starts_with(&format!("waiting for pcscd (vpcd) at {addr}")),
            "{events:?}"
        );
    }

    /// The latency fix: TCP_NODELAY set, and TCP_QUICKACK armed again by
    /// every read (the kernel clears it by itself).
    #[test]
    fn every_read_rearms_quickack() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (mut server, _) = listener.accept().unwrap();
        let mut v = VpcdStream::from_stream(client).unwrap();
        // A second handle on the same socket: options are per socket.
        let probe = v.get_ref().try_clone().unwrap();
        let sock = socket2::SockRef::from(&probe);
        assert!(sock.tcp_nodelay().unwrap());
        for round in 0..3 {
            sock.set_tcp_quickack(false).unwrap();
            vpcd_send(&mut server, &[round]);
            let mut b = [0u8; 3];
            v.read_exact(&mut b).unwrap();
            assert!(sock.tcp_quickack().unwrap(), "round {round}");
        }
    }

    /// Data arriving inside the spin window is read at once; data arriving
    /// after it by the blocking read. Either way the socket is blocking
    /// again afterwards, so a reply larger than the socket buffer is
    /// written whole, and a quiet socket still times out for the shutdown
    /// check.
    #[test]
    fn spinning_reads_fall_back_to_blocking() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (mut server, _) = listener.accept().unwrap();
        let mut v = VpcdStream::from_stream(client)
            .unwrap()
            .with_spin(Duration::from_millis(5));
        let sender = std::thread::spawn(move || {
            vpcd_send(&mut server, &[1]);
            std::thread::sleep(Duration::from_millis(50));
            vpcd_send(&mut server, &[2]);
            let big = vpcd_recv(&mut server);
            (server, big)
        });
        let probe = v.get_ref().try_clone().unwrap();
        let blocking = || !socket2::SockRef::from(&probe).nonblocking().unwrap();
        let mut b = [0u8; 3];
        v.read_exact(&mut b).unwrap();
        assert_eq!(b, [0, 1, 1]);
        assert!(blocking());
        v.read_exact(&mut b).unwrap();
        assert_eq!(b, [0, 1, 2]);
        assert!(blocking());
        let big = vec![0xA5; MAX_PAYLOAD];
        write_frame(&mut v, &big).unwrap();
        let (_server, got) = sender.join().unwrap();
        assert_eq!(got, big);
        let quiet = v.read(&mut b).unwrap_err();
        assert!(
            matches!(
                quiet.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ),
            "{quiet:?}"
        );
    }
}
