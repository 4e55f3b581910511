#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| saslgate::fuzzing::oauthbearer_initial_response(data));
