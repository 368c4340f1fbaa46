//! Chain analysis over arbitrary presented chains and certificate files: the certificates a
//! proxy sends and the bytes an AIA URL returns are hostile.
#![no_main]
use libfuzzer_sys::fuzz_target;
use rustls_pki_types::CertificateDer;
use std::sync::OnceLock;
use std::time::Duration;
use trust_proxy::analyze::chain::{self, Sources};
use trust_proxy::analyze::classify::PublicRoots;
use trust_proxy::discover::deadline::Deadline;
use trust_proxy::discover::fetch::{FetchError, Fetcher};

/// Serves the fuzz input's tail as every AIA response, so fetched bytes are fuzzed too.
struct Canned(Vec<u8>);
impl Fetcher for Canned {
    fn fetch(&self, url: &str, _: Deadline) -> Result<Vec<u8>, FetchError> {
        if self.0.is_empty() {
            return Err(FetchError::Scheme {
                url: url.to_string(),
            });
        }
        Ok(self.0.clone())
    }
}

fn public() -> &'static PublicRoots {
    static ROOTS: OnceLock<PublicRoots> = OnceLock::new();
    ROOTS.get_or_init(PublicRoots::mozilla)
}

fuzz_target!(|data: &[u8]| {
    // Input: [n][len_hi len_lo DER]*n, then the rest is what AIA returns.
    let Some((&n, mut rest)) = data.split_first() else {
        return;
    };
    let mut chain = Vec::new();
    for _ in 0..(n % 8) {
        if rest.len() < 2 {
            break;
        }
        let len = u16::from_be_bytes([rest[0], rest[1]]) as usize;
        let body = &rest[2..];
        let take = len.min(body.len());
        chain.push(CertificateDer::from(body[..take].to_vec()));
        rest = &body[take..];
    }
    let _ = trust_proxy::analyze::certload::load_certs(rest);
    let fetcher = Canned(rest.to_vec());
    let sources = Sources {
        public: public(),
        os_roots: &[],
        ca_files: &[],
        fetcher: &fetcher,
        read_file: &|_| None,
    };
    let _ = chain::analyze(&chain, &sources, Deadline::after(Duration::from_secs(5)));
});
