//! Arbitrary bytes as feed rows: line reading, field splitting and the address/number parsers.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tocsin_feed::reader::{parse_asn, parse_ip, parse_ipv4, parse_uint, split_fields, Line, LineReader};

fuzz_target!(|data: &[u8]| {
    let mut r = LineReader::new(data);
    let mut fields = Vec::new();
    while let Ok(Some(line)) = r.next() {
        let Line::Ok(_, bytes) = line else { continue };
        for delim in [b',', b'\t'] {
            fields.clear();
            if split_fields(bytes, delim, &mut fields).is_ok() {
                for &(s, e) in &fields {
                    let f = &bytes[s as usize..e as usize];
                    let _ = (parse_ipv4(f), parse_ip(f), parse_uint(f, u64::MAX), parse_asn(f));
                }
            }
        }
    }
});
