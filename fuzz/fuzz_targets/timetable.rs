#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| cambium_fuzz::timetable(data));
