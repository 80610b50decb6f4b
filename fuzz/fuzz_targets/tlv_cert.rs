//! The BER-TLV reader (`apdu::tlv`) and the certificate parser
//! (`apdu::cert`, `apdu::signed`): any bytes, no panic; a TLV that reads
//! encodes back to exactly the bytes it was read from (minimal lengths
//! only); a certificate that parses writes back to a certificate with the
//! same fields.
#![no_main]

use apdu::cert::Certificate;
use apdu::signed::Signed;
use apdu::tlv::{self, Writer};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    certmeter_fuzz::check_tlv(data);
    if let Ok((c, rest)) = Certificate::read(data) {
        assert!(rest.len() < data.len());
        let mut buf = vec![0u8; data.len() + 64];
        let mut w = Writer::new(&mut buf);
        c.body()
            .write(&mut w, |_| *c.signed.signature)
            .expect("a parsed certificate writes back");
        let again = Certificate::parse(w.written()).expect("a written certificate parses");
        assert_eq!(again.body(), c.body());
        let _ = c.valid_at(u64::MAX);
        let _ = c.allows(0xFF);
        for f in c.signed.iter() {
            let _ = f.is_constructed();
        }
    }
    let _ = Certificate::parse(data);
    // Every kind of signed object, from the outer tag of the input.
    if let Ok((outer, _)) = tlv::read(data)
        && let Ok(s) = Signed::parse(data, outer.tag)
    {
        assert_eq!(s.raw, data);
        let _ = s.get(0x80);
        let _ = s.uint::<8>(0x93);
        let _ = s.nested(0x7F49, 0x86);
    }
});
