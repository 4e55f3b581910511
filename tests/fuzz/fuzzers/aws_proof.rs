#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| saslgate::fuzzing::aws_proof(data));
