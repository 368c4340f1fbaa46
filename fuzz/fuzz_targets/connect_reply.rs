//! The proxy's reply to CONNECT is the first hostile input the probe parses.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(Some((code, line, consumed))) =
        trust_proxy::discover::tunnel::parse_connect_reply(data)
    {
        assert!(consumed <= data.len());
        assert!(line.starts_with("HTTP/1."));
        assert!(!line.chars().any(char::is_control));
        let _ = code;
    }
});
