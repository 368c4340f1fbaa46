//! DHCP option 252 as each OS hands it over (nmcli text, WinHTTP's UTF-16, macOS's CFData
//! bytes), recorded here: the one gate every value passes before WPAD fetches it, and the
//! deadline around OS calls that have none.

use std::time::{Duration, Instant};
use trust_proxy::proxy::dhcp_wpad::{
    url_from_bytes, url_from_text, url_from_utf16, within, Lease, UnusableUrl, MAX_URL,
};

fn utf16(text: &str) -> Vec<u16> {
    text.encode_utf16().collect()
}

#[test]
fn a_good_url_passes_in_every_form() {
    let url = "http://wpad.corp.example/wpad.dat";
    assert_eq!(url_from_bytes(url.as_bytes()).as_deref(), Ok(url));
    assert_eq!(url_from_utf16(&utf16(url)).as_deref(), Ok(url));
    assert_eq!(url_from_text(url).as_deref(), Ok(url));
    let https = "https://pac.corp.example:8443/proxy.pac";
    assert_eq!(url_from_bytes(https.as_bytes()).as_deref(), Ok(https));
}

#[test]
fn nul_padding_ends_the_string_as_c_reads_it() {
    // A server that counts the terminator, one that pads its fixed field, WinHTTP's own NUL.
    let url = "http://wpad.corp.example/wpad.dat";
    assert_eq!(
        url_from_bytes(b"http://wpad.corp.example/wpad.dat\0").as_deref(),
        Ok(url)
    );
    let mut padded = url.as_bytes().to_vec();
    padded.extend_from_slice(&[0; 40]);
    assert_eq!(url_from_bytes(&padded).as_deref(), Ok(url));
    let mut wide = utf16(url);
    wide.extend_from_slice(&[0, 0x41, 0]);
    assert_eq!(url_from_utf16(&wide).as_deref(), Ok(url));
    // What follows a NUL is not part of the value, whatever it is.
    assert_eq!(
        url_from_bytes(b"http://wpad.corp.example/wpad.dat\0\xff\x1b[2J").as_deref(),
        Ok(url)
    );
}

#[test]
fn empty_values_are_refused() {
    assert_eq!(url_from_bytes(b""), Err(UnusableUrl::Empty));
    assert_eq!(url_from_bytes(b"\0\0\0"), Err(UnusableUrl::Empty));
    assert_eq!(url_from_bytes(b"  \n"), Err(UnusableUrl::Empty));
    assert_eq!(url_from_utf16(&[0]), Err(UnusableUrl::Empty));
    assert_eq!(url_from_utf16(&[]), Err(UnusableUrl::Empty));
}

#[test]
fn binary_junk_is_refused_without_panicking() {
    assert_eq!(
        url_from_bytes(&[0xff, 0xfe, 0x80, 0x41]),
        Err(UnusableUrl::NotText)
    );
    // An unpaired surrogate in WinHTTP's string.
    assert_eq!(
        url_from_utf16(&[0x68, 0xd800, 0x74]),
        Err(UnusableUrl::NotText)
    );
    // Printable but not a URL.
    assert!(matches!(
        url_from_bytes(b"wpad.corp.example/wpad.dat"),
        Err(UnusableUrl::NotAUrl(_))
    ));
    // Every single byte and every pair of a few interesting ones: an error or a URL, no panic.
    for b in 0..=255u8 {
        let _ = url_from_bytes(&[b]);
        let _ = url_from_bytes(&[b'h', b, b'/']);
    }
}

#[test]
fn over_long_values_are_refused_before_parsing() {
    let long = format!("http://wpad.corp.example/{}", "a".repeat(MAX_URL));
    assert_eq!(url_from_bytes(long.as_bytes()), Err(UnusableUrl::TooLong));
    assert_eq!(url_from_utf16(&utf16(&long)), Err(UnusableUrl::TooLong));
    assert_eq!(url_from_text(&long), Err(UnusableUrl::TooLong));
    // Exactly at the cap is still a URL.
    let prefix = "http://wpad.corp.example/";
    let at_cap = format!("{prefix}{}", "a".repeat(MAX_URL - prefix.len()));
    assert_eq!(
        url_from_bytes(at_cap.as_bytes()).as_deref(),
        Ok(at_cap.as_str())
    );
}

#[test]
fn only_http_and_https_with_a_host() {
    for (value, scheme) in [
        ("file:///etc/passwd", "file"),
        ("ftp://wpad.corp.example/wpad.dat", "ftp"),
        ("javascript:alert(1)", "javascript"),
        ("data:text/plain,function FindProxyForURL(){}", "data"),
    ] {
        assert_eq!(
            url_from_bytes(value.as_bytes()),
            Err(UnusableUrl::Scheme(scheme.to_string())),
            "{value}"
        );
    }
    assert!(url_from_bytes(b"http://").is_err());
}

#[test]
fn control_characters_are_refused() {
    assert_eq!(
        url_from_bytes(b"http://wpad.corp.example/\x1b[2Jwpad.dat"),
        Err(UnusableUrl::ControlCharacter)
    );
    assert_eq!(
        url_from_utf16(&utf16("http://wpad.corp.example/\u{9b}31m")),
        Err(UnusableUrl::ControlCharacter)
    );
    assert_eq!(
        url_from_bytes(b"http://wpad.corp\r\nexample/"),
        Err(UnusableUrl::ControlCharacter)
    );
    // White space around the value is trimmed, as URL parsing does.
    assert_eq!(
        url_from_bytes(b" http://wpad.corp.example/wpad.dat\r\n").as_deref(),
        Ok("http://wpad.corp.example/wpad.dat")
    );
}

#[test]
fn an_os_call_without_a_bound_is_given_one() {
    let started = Instant::now();
    let lease = within(Duration::from_millis(200), "a stuck call", || {
        std::thread::sleep(Duration::from_secs(5));
        Lease::Url("http://late.example/".to_string())
    });
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        lease,
        Lease::Failed("a stuck call gave no answer within 200 ms".to_string())
    );
    let answered = within(Duration::from_secs(2), "a quick call", || {
        Lease::NoUrl("none".to_string())
    });
    assert_eq!(answered, Lease::NoUrl("none".to_string()));
}
