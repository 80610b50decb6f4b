//! What the dispatcher lends a flow for one command (after opcard-rs's
//! `LoadedContext`): the persistent store, the transient RAM, the hardware,
//! the response buffer, and what the access policy check produced (the
//! command's [`Policy`] and the challenge it consumed). The request's own
//! data are the flow function's other arguments.

use apdu::StatusWord;
use apdu::meter::CHALLENGE_LEN;
use apdu::policy::Policy;

use crate::error::Result;
use crate::platform::Platform;
use crate::state::Transient;
use crate::store::Store;

/// One command's view of the card.
pub struct Context<'a, P: Platform> {
    /// Persistent memory.
    pub store: &'a mut Store,
    /// Volatile memory.
    pub ram: &'a mut Transient,
    /// Random numbers and the clock's time source.
    pub platform: &'a mut P,
    /// The response buffer: a flow writes its answer here and returns its
    /// length.
    pub out: &'a mut [u8],
    /// The command's access policy, already checked.
    pub policy: Policy,
    /// The challenge taken out of RAM for a command whose policy consumes
    /// it (`None` if there was none, or the command does not use one).
    pub challenge: Option<[u8; CHALLENGE_LEN]>,
}

impl<P: Platform> Context<'_, P> {
    /// Answers `bytes` as they are; 6A84 when they do not fit.
    pub fn answer(&mut self, bytes: &[u8]) -> Result<usize> {
        self.out
            .get_mut(..bytes.len())
            .ok_or(StatusWord::NOT_ENOUGH_MEMORY)?
            .copy_from_slice(bytes);
        Ok(bytes.len())
    }
}
