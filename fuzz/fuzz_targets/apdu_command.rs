//! The APDU parser: `apdu::Command::parse` (every ISO 7816-4 case, short and
//! extended), then `apdu::meter::Request::parse` (the meter's command set,
//! every instruction), with their round trips: what parses encodes back to
//! the same bytes, and a request's command parses back to the request. Also
//! the response and ATR parsers, which take any bytes.
#![no_main]

use apdu::meter::Request;
use apdu::{Command, Response, ResponseBuf, StatusWord};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    certmeter_fuzz::check_command(data);
    if let Some(r) = Response::parse(data) {
        let mut out = vec![0; data.len()];
        assert_eq!(r.encode(&mut out), Some(data.len()));
        assert_eq!(out, data);
        let buf = ResponseBuf::parse(data).expect("a response parses owned too");
        assert_eq!(buf.to_bytes(), data);
        let _ = StatusWord::new(r.sw.sw1(), r.sw.sw2()).description();
    }
    let _ = apdu::atr::historical_bytes(data);
    let _ = apdu::atr::capabilities(data);
    // The header of any command, with the data that follows as its body.
    if let [cla, ins, p1, p2, rest @ ..] = data {
        let cmd = Command::new(*cla, *ins, *p1, *p2, rest, None);
        if let Ok(req) = Request::parse(&cmd) {
            assert_eq!(Request::parse(&req.to_command()), Ok(req));
        }
    }
});
