//! Replaying a vector over any transport.

use std::fmt;

use reader::{Transport, TransportError};

use crate::Vector;

/// The first step whose answer differs from the vector.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mismatch {
    /// The step's index in [`Vector::steps`] (from 0).
    pub step: usize,
    /// The step's description.
    pub description: String,
    /// The command sent.
    pub command: Vec<u8>,
    /// The answer the vector expects.
    pub expected: Vec<u8>,
    /// What came back: the answer, or why there was none.
    pub actual: Result<Vec<u8>, TransportError>,
}

impl Mismatch {
    /// The expected answer, upper-case hex.
    pub fn expected_hex(&self) -> String {
        hex::encode_upper(&self.expected)
    }

    /// The actual answer, upper-case hex, or the transport error.
    pub fn actual_hex(&self) -> String {
        match &self.actual {
            Ok(bytes) => hex::encode_upper(bytes),
            Err(e) => format!("no answer ({e})"),
        }
    }
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "step {} ({}): sent {}\n  expected {}\n  actual   {}",
            self.step,
            self.description,
            hex::encode_upper(&self.command),
            self.expected_hex(),
            self.actual_hex()
        )
    }
}

impl std::error::Error for Mismatch {}

/// Sends every command of `vector` over `transport`, in order, and
/// compares each answer byte for byte; stops at the first difference.
///
/// The transport must reach a card in the state the vector starts from: a
/// freshly manufactured card with the vector's [`crate::CardSpec`]
/// ([`crate::fresh`] for the simulator). The commands are sent
/// exactly as recorded (short APDUs, chained), whatever
/// [`Transport::supports_extended`] says.
pub fn replay(vector: &Vector, transport: &mut dyn Transport) -> Result<(), Mismatch> {
    for (n, step) in vector.steps.iter().enumerate() {
        let actual = transport.transmit(&step.command);
        if actual.as_ref() != Ok(&step.response) {
            return Err(Mismatch {
                step: n,
                description: step.description.clone(),
                command: step.command.clone(),
                expected: step.response.clone(),
                actual,
            });
        }
    }
    Ok(())
}
