//! The lab's outcome rules on every client log the captures recorded (`curl.txt`,
//! `client.txt`): each must classify as the outcome the snapshot recorded. No root needed.

mod common;

use pktpath_lab::classify::{classify, ClientLog};
use pktpath_world::load_world;

#[test]
fn every_recorded_client_log_classifies_as_its_recorded_outcome() {
    let mut checked = 0;
    let mut wrong = Vec::new();
    for root in [common::shared_fixtures(), common::main_fixtures()] {
        for e in std::fs::read_dir(&root).unwrap_or_else(|e| panic!("{}: {e}", root.display())) {
            let dir = e.unwrap().path();
            if !dir.join("world.toml").is_file() {
                continue;
            }
            let world = load_world(&dir).unwrap_or_else(|e| panic!("{e}"));
            for p in &world.probes {
                let (Some(expect), Some(trace)) = (p.expect, &p.trace) else {
                    continue;
                };
                let folder = dir.join(trace).parent().unwrap().to_path_buf();
                let log = ["curl.txt", "client.txt"]
                    .iter()
                    .find_map(|f| std::fs::read_to_string(folder.join(f)).ok())
                    .unwrap_or_else(|| panic!("{}: no client log", folder.display()));
                let log = ClientLog::parse(&log)
                    .unwrap_or_else(|| panic!("{}: not a client log", folder.display()));
                let c = classify(p.proto, log.code, &log.stdout, &log.stderr);
                checked += 1;
                if c.outcome != Some(expect) {
                    wrong.push(format!(
                        "{}: recorded {} but the rules say {}",
                        folder.display(),
                        expect.as_str(),
                        c.text
                    ));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert!(checked >= 100, "only {checked} client logs found");
}
