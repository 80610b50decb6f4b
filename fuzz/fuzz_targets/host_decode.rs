//! The host's response decoding: the `reader` crate's [`reader::Meter`]
//! over a transport whose every answer comes from the input: the exchange
//! layer (61xx GET RESPONSE loops, 6Cxx resends, chaining answers), the
//! status template (with the certificates it lists), the rate table, the
//! VERIFY POSTMARK verdict, the credit-line answer, attestation and key
//! answers. Any answer must give a result or an error, never a panic or an
//! endless loop.
#![no_main]

use libfuzzer_sys::fuzz_target;
use reader::{Error, Meter, Transport, TransportError};

/// Answers from the input: a big-endian u16 length then that many bytes,
/// repeated; length FFFF is a transport error; the end of the input is a
/// transport error too (the card was pulled).
struct Answers<'a> {
    rest: &'a [u8],
    extended: bool,
    sent: usize,
}

impl Transport for Answers<'_> {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        // Every command the host sends is a well-formed APDU.
        let cmd = apdu::Command::parse(command).expect("the host sends well-formed APDUs");
        assert!(
            self.extended || !cmd.extended,
            "extended APDU without support"
        );
        self.sent += 1;
        assert!(self.sent < 100_000, "the host never stops sending");
        let [a, b, tail @ ..] = self.rest else {
            self.rest = &[];
            return Err(TransportError::CardRemoved);
        };
        let n = u16::from_be_bytes([*a, *b]);
        if n == u16::MAX {
            self.rest = tail;
            return Err(TransportError::CardRemoved);
        }
        let n = usize::from(n).min(tail.len());
        let (answer, rest) = tail.split_at(n);
        self.rest = rest;
        Ok(answer.to_vec())
    }

    fn supports_extended(&self) -> bool {
        self.extended
    }

    fn atr(&self) -> &[u8] {
        &[]
    }

    fn reset(&mut self) -> Result<(), TransportError> {
        Ok(())
    }

    fn exclusive(&mut self, f: &mut reader::transport::Exclusive<'_>) -> Result<(), Error> {
        f(self)
    }
}

fuzz_target!(|data: &[u8]| {
    let [which, rest @ ..] = data else {
        return;
    };
    let t = Answers {
        rest,
        extended: which & 0x80 != 0,
        sent: 0,
    };
    let mut m = Meter::new(t);
    match which & 0x7F {
        0 => drop(m.status()),
        1 => drop(m.rates()),
        2 => drop(m.rate_table()),
        3 => drop(m.verify_postmark(&[0x7F; 300], None)),
        4 => drop(m.verify_postmark(b"file", Some(b"crl"))),
        5 => drop(m.read_credit_line()),
        6 => drop(m.challenge()),
        7 => drop(m.read_attestation()),
        8 => drop(m.meter_public_key()),
        9 => drop(m.generate_meter_key()),
        10 => drop(m.attest(&[1; 16])),
        11 => drop(m.audit()),
        12 => drop(m.open_channel()),
        13 => drop(m.select()),
        14 => drop(m.read_certificate(0)),
        15 => drop(m.postmark()),
        16 => drop(m.load_value(&[0x55; 600])),
        17 => drop(m.revoke_request(1, 1)),
        18 => drop(m.recharge_request(apdu::meter::RegisterId::Postage, 500)),
        _ => {
            // The exchange layer alone, with a long command (chained
            // without extended support) asking for a long answer.
            let body = vec![0xA5; usize::from(which & 0x7F) * 7];
            let cmd = apdu::Command::new(0x80, 0x30, 0, 0, &body, Some(65536));
            if let Ok(resp) = reader::exchange::exchange(m.transport(), &cmd) {
                assert!(resp.data.len() <= reader::exchange::MAX_RESPONSE_LEN);
            }
        }
    }
});
