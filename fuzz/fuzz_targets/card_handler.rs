//! The card's whole command handler: APDU sequences against card images
//! taken from the vector flows, invariants checked after each APDU (see
//! `certmeter_fuzz::handler`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| certmeter_fuzz::handler::run(data));
