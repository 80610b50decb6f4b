//! A transport wrapper that records every APDU with a description.

use apdu::command::CLA_CHAINING;
use apdu::meter::{CLA_ISO, Request, ins};
use apdu::{Command, StatusWord};
use reader::{Transport, TransportError};

use crate::Step;

/// Records every command sent through it, the answer, and a description:
/// the label of the current phase for the command's instruction (see
/// [`Recorder::phase`]), then the command's name, then the status word when
/// it is not a success. Chained pieces and GET RESPONSE are named as parts
/// of the command they belong to.
pub struct Recorder<T: Transport> {
    inner: T,
    steps: Vec<Step>,
    default_label: String,
    labels: Vec<(u8, String)>,
    /// The open chain: header (CLA without the chaining bit, INS, P1, P2)
    /// and the pieces sent so far.
    chain: Option<([u8; 4], usize)>,
    /// Label and name of the last command other than GET RESPONSE.
    last: Option<(String, String)>,
}

impl<T: Transport> Recorder<T> {
    /// Records what goes through `inner`.
    pub fn new(inner: T) -> Self {
        Recorder {
            inner,
            steps: Vec::new(),
            default_label: String::new(),
            labels: Vec::new(),
            chain: None,
            last: None,
        }
    }

    /// Starts a phase: commands with an instruction byte listed in `labels`
    /// get its label, all others `default`.
    pub fn phase(&mut self, default: &str, labels: &[(u8, &str)]) {
        self.default_label = default.to_owned();
        self.labels = labels
            .iter()
            .map(|(ins, label)| (*ins, (*label).to_owned()))
            .collect();
    }

    /// The steps recorded so far.
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// Takes the steps recorded so far.
    pub fn take_steps(&mut self) -> Vec<Step> {
        std::mem::take(&mut self.steps)
    }

    /// The wrapped transport.
    pub fn inner(&mut self) -> &mut T {
        &mut self.inner
    }

    fn label(&self, ins: u8) -> &str {
        self.labels
            .iter()
            .find(|(i, _)| *i == ins)
            .map_or(self.default_label.as_str(), |(_, l)| l.as_str())
    }

    /// The description of `bytes`, updating the chain and last-command state.
    fn describe(&mut self, bytes: &[u8]) -> String {
        let Ok(cmd) = Command::parse(bytes) else {
            self.chain = None;
            return format!("{} (malformed APDU)", self.default_label);
        };
        if cmd.cla == CLA_ISO && cmd.ins == ins::GET_RESPONSE {
            let (label, name) = self
                .last
                .clone()
                .unwrap_or_else(|| (self.default_label.clone(), "nothing".into()));
            return format!("{label} (GET RESPONSE: the rest of the {name} answer)");
        }
        let header = [cmd.cla & !CLA_CHAINING, cmd.ins, cmd.p1, cmd.p2];
        // The command's name (Request::name), or its header when it is not
        // a command of the meter application.
        let name = match Request::parse(&Command {
            cla: header[0],
            ..cmd
        }) {
            Ok(req) => req.name().to_string(),
            Err(_) => format!(
                "command {:02X} {:02X} {:02X} {:02X}",
                header[0], header[1], header[2], header[3]
            ),
        };
        let label = self.label(cmd.ins).to_owned();
        let parts = match self.chain {
            Some((h, n)) if h == header => n,
            _ => 0,
        };
        let full = if cmd.is_chained() {
            self.chain = Some((header, parts + 1));
            format!("{name}, chained part {}", parts + 1)
        } else {
            self.chain = None;
            if parts > 0 {
                format!("{name}, last part {} of the chain", parts + 1)
            } else {
                name.clone()
            }
        };
        self.last = Some((label.clone(), name));
        format!("{label} ({full})")
    }
}

impl<T: Transport> Transport for Recorder<T> {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        let mut description = self.describe(command);
        let response = self.inner.transmit(command)?;
        if let [.., sw1, sw2] = response[..] {
            let sw = StatusWord::new(sw1, sw2);
            if !sw.is_ok() && sw.remaining().is_none() {
                description.push_str(&format!(" -> {:04X}: {}", sw.0, sw.description()));
            }
        }
        self.steps.push(Step {
            description,
            command: command.to_vec(),
            response: response.clone(),
        });
        Ok(response)
    }

    fn supports_extended(&self) -> bool {
        self.inner.supports_extended()
    }

    fn atr(&self) -> &[u8] {
        self.inner.atr()
    }

    fn reset(&mut self) -> Result<(), TransportError> {
        // A reset is not an APDU and a vector cannot replay it.
        Err(TransportError::Unavailable(
            "a reset cannot be recorded in a test vector".into(),
        ))
    }

    fn exclusive(&mut self, f: &mut reader::Exclusive<'_>) -> Result<(), reader::Error> {
        f(self)
    }
}
