//! No-panic property for feed rows — the stable-toolchain stand-in for the `feed_rows` cargo-fuzz
//! target in `fuzz/`: line reading, field splitting and the address/number parsers on arbitrary
//! bytes, and fields that always lie inside their line.

use proptest::prelude::*;
use tocsin_feed::reader::{
    parse_asn, parse_ip, parse_ipv4, parse_uint, split_fields, Line, LineReader,
};

fn row_bytes() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        Just(b"\"".to_vec()),
        Just(b",".to_vec()),
        Just(b"\t".to_vec()),
        Just(b"\r\n".to_vec()),
        Just(b"\n".to_vec()),
        Just(b"198.51.100.7".to_vec()),
        Just(b"2001:db8::1".to_vec()),
        Just(b"AS64500".to_vec()),
        Just(b"18446744073709551616".to_vec()),
        Just(b"\"a,\"\"b\"\"\"".to_vec()),
        prop::collection::vec(any::<u8>(), 0..16),
    ];
    prop::collection::vec(piece, 0..40).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn feed_rows_never_panic(data in row_bytes()) {
        let mut r = LineReader::new(&data[..]);
        let mut fields = Vec::new();
        while let Ok(Some(line)) = r.next() {
            let Line::Ok(_, bytes) = line else { continue };
            for delim in [b',', b'\t'] {
                if split_fields(bytes, delim, &mut fields).is_ok() {
                    for &(s, e) in &fields {
                        prop_assert!(s <= e && e as usize <= bytes.len());
                        let f = &bytes[s as usize..e as usize];
                        let _ = (parse_ipv4(f), parse_ip(f), parse_uint(f, u64::MAX), parse_asn(f));
                    }
                }
            }
        }
    }
}
