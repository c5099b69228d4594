//! `HostPolicy::parse`: the same answer as a SPEC §2 reference (route key,
//! form, or first failing step's code); a success re-formats to the same
//! route key, and the lowercase, upper-case, trailing-dot and port
//! spellings of the same host agree with it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vendo_isolation::HostPolicy;
use vendo_isolation::hosts::HostForm;
use vendo_isolation_fuzz::reference;

fuzz_target!(|data: &[u8]| {
    let policy = HostPolicy::default();
    let ours = policy.parse(data).map(|k| (k.as_str().to_owned(), k.form() == HostForm::Legacy)).map_err(|e| e.code());
    assert_eq!(ours, reference::parse_host(data), "host {:?}", String::from_utf8_lossy(data));
    let key = match policy.parse(data) {
        Ok(key) => key,
        Err(e) => {
            // A refusal, and its reason, must not depend on letter case
            // either, nor on a trailing dot where one may be added.
            let upper = data.to_ascii_uppercase();
            assert_eq!(policy.parse(&upper).err(), Some(e), "case changed a refusal");
            if !data.contains(&b':') && !data.ends_with(b".") {
                let dotted = [data, b"."].concat();
                assert_eq!(policy.parse(&dotted).err(), Some(e), "a trailing dot changed a refusal");
            }
            return;
        }
    };
    // The key is lowercase, 1 or 2 labels, and rebuilds the same key.
    assert!(!key.as_str().bytes().any(|b| b.is_ascii_uppercase()));
    let host = policy.hostname(&key);
    let again = policy.parse(&host).expect("a formatted key parses");
    assert_eq!(again.as_str(), key.as_str());
    assert_eq!(again.form(), key.form());
    match key.form() {
        HostForm::SingleLevel => assert!(key.label().is_some() && key.legacy_parts().is_none()),
        HostForm::Legacy => {
            let (d, t) = key.legacy_parts().expect("legacy parts");
            assert_eq!(format!("{d}.{t}"), key.as_str());
        }
    }
    // Spellings of the same host agree.
    for variant in [
        host.to_ascii_uppercase(),
        format!("{host}."),
        format!("{host}:443"),
        format!("{}.:8080", host.to_ascii_uppercase()),
    ] {
        let k = policy.parse(&variant).expect("spelling variant parses");
        assert_eq!(k.as_str(), key.as_str());
    }
    let lower = data.to_ascii_lowercase();
    assert_eq!(policy.parse(&lower).expect("lowercase parses").as_str(), key.as_str());
});
