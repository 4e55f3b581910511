#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| saslgate::fuzzing::jwks_json(data));
