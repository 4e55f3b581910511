#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| saslgate::fuzzing::rfc7628_error_json(data));
