//! The PC/SC transport (`pcsc` crate, pcsc-lite's pcscd on Linux): a card
//! in a real reader, or the virtual card behind vsmartcard's vpcd.
//!
//! * The PC/SC library is opened at run time (`pcsc-sys-dlopen`, patched in
//!   for `pcsc-sys`): a machine without it builds and runs everything else,
//!   and `--card pcsc` says which library is missing and how to get it.
//! * Readers are listed and waited on with `SCardGetStatusChange`; a reader
//!   is chosen by name, or the first one holding a meter card is used.
//! * A flow of several APDUs (a postmark: HASH init, updates, POSTMARK) runs
//!   inside one PC/SC transaction ([`Transport::exclusive`]), so no other
//!   program's command comes between them; a lone APDU needs none (pcscd
//!   sends it whole). Receive buffers are [`pcsc::MAX_BUFFER_SIZE_EXTENDED`].
//! * Extended APDUs are used when the ATR announces them (card
//!   capabilities, ISO 7816-4 §8.1.1.2.7); else the exchange layer chains.
//! * After a reset by another process the card is reconnected; after pcscd
//!   restarts the context is established anew and the card reconnected.
//!   Either way the command is not sent and the transport answers
//!   [`TransportError::Reset`]: the [`Session`](crate::session::Session)
//!   on top replays the last SELECT and successful VERIFY and sends the
//!   command again.

use std::ffi::{CStr, CString};
use std::time::{Duration, Instant};

use apdu::meter::{AID, Request};
use pcsc::{Context, Disposition, Protocols, ReaderState, Scope, ShareMode, State};

use crate::error::{Error, TransportError};
use crate::transport::{Exclusive, Transport};

/// How long `--card pcsc` waits for a card to be inserted.
pub const CARD_WAIT: Duration = Duration::from_secs(3);

/// A reader as `meter readers` shows it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ReaderInfo {
    /// The reader's name.
    pub name: String,
    /// Whether a card is present.
    pub card_present: bool,
    /// The card's ATR, hex.
    pub atr: Option<String>,
}

/// Maps PC/SC errors to one actionable line each.
pub fn error(e: pcsc::Error, reader: Option<&str>) -> TransportError {
    use pcsc::Error as E;
    let r = reader.unwrap_or("the reader");
    match e {
        E::NoService | E::ServiceStopped => TransportError::Unavailable(
            "pcscd is not running: start it (`sudo systemctl start pcscd`, or `pcscd -f` in a terminal)"
                .into(),
        ),
        E::NoReadersAvailable => TransportError::Unavailable(
            "no smart card reader found: connect a reader (or start the virtual card, see docs/operations.md)"
                .into(),
        ),
        E::UnknownReader | E::ReaderUnavailable => {
            TransportError::Unavailable(format!("reader `{r}` is not available"))
        }
        E::NoSmartcard | E::RemovedCard => TransportError::CardRemoved,
        E::UnresponsiveCard | E::UnpoweredCard => TransportError::NoResponse,
        E::SharingViolation => {
            TransportError::Busy(format!("another program holds the card in `{r}` exclusively"))
        }
        other => TransportError::Io(format!("PC/SC: {other}")),
    }
}

/// Opens the PC/SC library, naming it and the package that brings it when
/// it is missing.
pub fn library() -> Result<(), TransportError> {
    pcsc_sys::load().map_err(|e| {
        TransportError::Unavailable(format!(
            "{e}; install pcscd (Debian: `apt-get install pcscd`, which brings libpcsclite1), \
             or set {} to the PC/SC library's path",
            pcsc_sys::LIBRARY_ENV
        ))
    })
}

fn context() -> Result<Context, TransportError> {
    library()?;
    Context::establish(Scope::User).map_err(|e| error(e, None))
}

fn reader_names(ctx: &Context) -> Result<Vec<CString>, TransportError> {
    let names = ctx.list_readers_owned().map_err(|e| error(e, None))?;
    if names.is_empty() {
        return Err(error(pcsc::Error::NoReadersAvailable, None));
    }
    Ok(names)
}

fn states(
    ctx: &Context,
    names: &[CString],
    timeout: Duration,
) -> Result<Vec<ReaderState>, TransportError> {
    let mut states: Vec<_> = names
        .iter()
        .map(|n| ReaderState::new(n.clone(), State::UNAWARE))
        .collect();
    match ctx.get_status_change(timeout, &mut states) {
        Ok(()) | Err(pcsc::Error::Timeout) => Ok(states),
        Err(e) => Err(error(e, None)),
    }
}

/// Every reader with its card state.
pub fn list_readers() -> Result<Vec<ReaderInfo>, TransportError> {
    let ctx = context()?;
    let names = reader_names(&ctx)?;
    Ok(states(&ctx, &names, Duration::ZERO)?
        .iter()
        .map(|s| {
            let present = s.event_state().contains(State::PRESENT);
            ReaderInfo {
                name: s.name().to_string_lossy().into_owned(),
                card_present: present,
                atr: present.then(|| hex::encode_upper(s.atr())),
            }
        })
        .collect())
}

/// Whether the ATR's historical bytes announce extended Lc/Le (card
/// capabilities, third software function table byte, bit 0x40).
pub fn atr_announces_extended(atr: &[u8]) -> bool {
    apdu::atr::capabilities(atr).extended_length
}

/// A card in a PC/SC reader.
pub struct PcscTransport {
    ctx: Context,
    card: pcsc::Card,
    reader: CString,
    atr: Vec<u8>,
    extended: bool,
    buf: Vec<u8>,
}

impl PcscTransport {
    /// Connects to the card in `reader`, or to the first reader holding a
    /// meter card, waiting up to `wait` for a card to be inserted.
    pub fn connect(reader: Option<&str>, wait: Duration) -> Result<Self, TransportError> {
        let ctx = context()?;
        let names = reader_names(&ctx)?;
        match reader {
            Some(name) => {
                let wanted = names
                    .iter()
                    .find(|n| n.to_string_lossy() == name)
                    .cloned()
                    .ok_or_else(|| {
                        TransportError::Unavailable(format!(
                            "reader `{name}` not found; readers: {}",
                            names
                                .iter()
                                .map(|n| n.to_string_lossy())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ))
                    })?;
                wait_for_card(&ctx, &wanted, wait)?;
                Self::open(ctx, wanted)
            }
            None => {
                let deadline = Instant::now() + wait;
                loop {
                    let mut seen = Vec::new();
                    for s in states(&ctx, &names, Duration::ZERO)? {
                        let name = s.name().to_owned();
                        let label = name.to_string_lossy().into_owned();
                        if !s.event_state().contains(State::PRESENT) {
                            seen.push(format!("{label}: no card"));
                            continue;
                        }
                        match Self::open(ctx.clone(), name) {
                            Ok(mut t) => {
                                if t.is_meter() {
                                    return Ok(t);
                                }
                                seen.push(format!("{label}: not a meter card"));
                            }
                            Err(e) => seen.push(format!("{label}: {e}")),
                        }
                    }
                    if Instant::now() >= deadline {
                        return Err(TransportError::Unavailable(format!(
                            "no meter card found ({})",
                            seen.join("; ")
                        )));
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        }
    }

    fn open(ctx: Context, reader: CString) -> Result<Self, TransportError> {
        let label = reader.to_string_lossy().into_owned();
        let card = ctx
            .connect(&reader, ShareMode::Shared, Protocols::ANY)
            .map_err(|e| match e {
                pcsc::Error::NoSmartcard => {
                    TransportError::Unavailable(format!("no card in reader `{label}`"))
                }
                e => error(e, Some(&label)),
            })?;
        let atr = card
            .status2_owned()
            .map_err(|e| error(e, Some(&label)))?
            .atr()
            .to_vec();
        Ok(PcscTransport {
            ctx,
            card,
            extended: atr_announces_extended(&atr),
            atr,
            reader,
            buf: vec![0; pcsc::MAX_BUFFER_SIZE_EXTENDED],
        })
    }

    /// The reader's name.
    pub fn reader(&self) -> String {
        self.reader.to_string_lossy().into_owned()
    }

    /// Whether the card answers SELECT of the meter AID with 9000.
    pub fn is_meter(&mut self) -> bool {
        let select = Request::Select { aid: AID }
            .to_command()
            .to_vec()
            .unwrap_or_default();
        matches!(self.raw(&select).as_deref(), Ok([.., 0x90, 0x00]))
    }

    fn label(&self) -> String {
        self.reader()
    }

    /// One APDU.
    fn raw(&mut self, command: &[u8]) -> Result<Vec<u8>, pcsc::Error> {
        let answer = self
            .card
            .transmit(command, &mut self.buf)
            .map(<[u8]>::to_vec);
        checked(&self.card, answer)
    }

    /// Maps a failure of `op` that a reconnection cures (a reset by
    /// another program, a pcscd restart) to [`TransportError::Reset`] once
    /// reconnected: `op` did not reach the card, and the card's volatile
    /// state is gone. Replaying it is the [`Session`](crate::session::Session)'s job.
    fn recovering(&mut self, e: pcsc::Error) -> TransportError {
        let label = self.label();
        match e {
            pcsc::Error::ResetCard => match self.recover_reset() {
                Ok(()) => TransportError::Reset,
                Err(e) => error(e, Some(&label)),
            },
            pcsc::Error::NoService | pcsc::Error::ServiceStopped | pcsc::Error::InvalidHandle => {
                match self.recover_service() {
                    Ok(()) => TransportError::Reset,
                    Err(e) => e,
                }
            }
            e => error(e, Some(&label)),
        }
    }

    /// Reconnects after a reset.
    fn recover_reset(&mut self) -> Result<(), pcsc::Error> {
        self.card
            .reconnect(ShareMode::Shared, Protocols::ANY, Disposition::LeaveCard)
    }

    /// Establishes a new context (pcscd restarted) and reconnects.
    fn recover_service(&mut self) -> Result<(), TransportError> {
        let ctx = context()?;
        wait_for_card(&ctx, &self.reader, CARD_WAIT)?;
        let card = ctx
            .connect(&self.reader, ShareMode::Shared, Protocols::ANY)
            .map_err(|e| error(e, Some(&self.label())))?;
        self.ctx = ctx;
        self.card = card;
        Ok(())
    }
}

/// An answer without a status word, or a transmission that failed with
/// `NotTransacted` or a communication error, means the card may have gone
/// away in the middle of the command (pcscd passes vpcd's closed socket on
/// as an empty answer, or drops the transaction of a removed card): wait
/// up to a second for pcscd to see a removal, and report it as such.
fn checked(
    card: &pcsc::Card,
    answer: Result<Vec<u8>, pcsc::Error>,
) -> Result<Vec<u8>, pcsc::Error> {
    let failure = match answer {
        Ok(a) if a.len() >= 2 => return Ok(a),
        Ok(_) => pcsc::Error::UnresponsiveCard,
        Err(
            e @ (pcsc::Error::NotTransacted | pcsc::Error::CommError | pcsc::Error::UnknownError),
        ) => e,
        Err(e) => return Err(e),
    };
    let deadline = Instant::now() + Duration::from_secs(1);
    loop {
        match card.status2_owned() {
            Err(pcsc::Error::RemovedCard | pcsc::Error::NoSmartcard) => {
                return Err(pcsc::Error::RemovedCard);
            }
            Ok(s) if !s.status().contains(pcsc::Status::PRESENT) => {
                return Err(pcsc::Error::RemovedCard);
            }
            _ if Instant::now() >= deadline => return Err(failure),
            _ => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

fn wait_for_card(ctx: &Context, reader: &CStr, wait: Duration) -> Result<(), TransportError> {
    let label = reader.to_string_lossy().into_owned();
    let mut state = vec![ReaderState::new(reader.to_owned(), State::UNAWARE)];
    let deadline = Instant::now() + wait;
    loop {
        match ctx.get_status_change(Duration::ZERO, &mut state) {
            Ok(()) | Err(pcsc::Error::Timeout) => {}
            Err(e) => return Err(error(e, Some(&label))),
        }
        if state[0].event_state().contains(State::PRESENT) {
            return Ok(());
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(TransportError::Unavailable(format!(
                "no card in reader `{label}`: insert a card"
            )));
        }
        state[0].sync_current_state();
        match ctx.get_status_change(left, &mut state) {
            Ok(()) | Err(pcsc::Error::Timeout) => {}
            Err(e) => return Err(error(e, Some(&label))),
        }
    }
}

/// The longest command APDU sent through PC/SC: 65,535 bytes, what
/// vsmartcard's vpcd frames carry (a longer one makes pcscd drop the card;
/// docs/apdu.md, Limits). Longer commands are chained by the exchange layer.
pub const PCSC_MAX_COMMAND_LEN: usize = u16::MAX as usize;

impl Transport for PcscTransport {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        self.raw(command).map_err(|e| self.recovering(e))
    }

    fn supports_extended(&self) -> bool {
        self.extended
    }

    fn max_command_len(&self) -> usize {
        PCSC_MAX_COMMAND_LEN
    }

    fn atr(&self) -> &[u8] {
        &self.atr
    }

    fn reset(&mut self) -> Result<(), TransportError> {
        let label = self.label();
        self.card
            .reconnect(ShareMode::Shared, Protocols::ANY, Disposition::ResetCard)
            .map_err(|e| error(e, Some(&label)))
    }

    fn exclusive(&mut self, f: &mut Exclusive<'_>) -> Result<(), Error> {
        self.exclusive_ending(f, Disposition::LeaveCard)
    }

    /// One transaction that ends by resetting the card: no other program
    /// gets the card between `f` and the reset, so a PIN verified in `f`
    /// is never in force for anyone else.
    fn exclusive_reset(&mut self, f: &mut Exclusive<'_>) -> Result<(), Error> {
        self.exclusive_ending(f, Disposition::ResetCard)
    }
}

impl PcscTransport {
    fn exclusive_ending(&mut self, f: &mut Exclusive<'_>, end: Disposition) -> Result<(), Error> {
        match self.with_transaction(f, end) {
            Ok(result) => result,
            // The transaction could not begin, and `f` has not run: a reset
            // or a pcscd restart is reported as [`TransportError::Reset`]
            // once reconnected, for the session to replay and try again.
            Err(e) => Err(self.recovering(e).into()),
        }
    }

    /// Runs `f` inside one PC/SC transaction ended with `end`; the outer
    /// error is the transaction failing to begin.
    fn with_transaction(
        &mut self,
        f: &mut Exclusive<'_>,
        end: Disposition,
    ) -> Result<Result<(), Error>, pcsc::Error> {
        let label = self.label();
        let PcscTransport {
            card,
            buf,
            atr,
            extended,
            ..
        } = self;
        let tx = card.transaction()?;
        let mut held = Held {
            card: &tx,
            buf,
            atr,
            extended: *extended,
            label: label.clone(),
        };
        let result = f(&mut held);
        match tx.end(end) {
            Ok(()) => Ok(result),
            // Ending fails only if the card went away, which `f` has seen.
            Err(_) if end == Disposition::LeaveCard => Ok(result),
            // The card could not be reset: say so, unless `f` failed first.
            Err((_, e)) => Ok(result.and(Err(error(e, Some(&label)).into()))),
        }
    }
}

/// The card while [`PcscTransport::exclusive`] holds its transaction.
struct Held<'a> {
    card: &'a pcsc::Card,
    buf: &'a mut Vec<u8>,
    atr: &'a [u8],
    extended: bool,
    label: String,
}

impl Transport for Held<'_> {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        let answer = self.card.transmit(command, self.buf).map(<[u8]>::to_vec);
        checked(self.card, answer).map_err(|e| error(e, Some(&self.label)))
    }

    fn supports_extended(&self) -> bool {
        self.extended
    }

    fn max_command_len(&self) -> usize {
        PCSC_MAX_COMMAND_LEN
    }

    fn atr(&self) -> &[u8] {
        self.atr
    }

    fn reset(&mut self) -> Result<(), TransportError> {
        Err(TransportError::Busy(
            "cannot reset the card while holding it exclusively".into(),
        ))
    }

    fn exclusive(&mut self, f: &mut Exclusive<'_>) -> Result<(), Error> {
        f(self)
    }

    fn exclusive_reset(&mut self, f: &mut Exclusive<'_>) -> Result<(), Error> {
        // Already held: the outermost section decides how it ends.
        f(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extended_length_from_the_atr() {
        assert!(atr_announces_extended(applet_sim::sim::ATR));
        assert!(!atr_announces_extended(&[0x3B, 0x02, 0x14, 0x50]));
    }
}
