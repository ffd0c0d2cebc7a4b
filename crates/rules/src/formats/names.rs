//! Reverse look-ups in netbase's tables, as `getservbyport` answers them (the first
//! entry of /etc/services with that port and protocol), for listings without `-n`.

use std::collections::HashMap;
use std::sync::OnceLock;

const SERVICES: &str = include_str!("../data/services");

/// `getservbyport(port, proto)`.
pub fn service_name(port: u16, proto: &str) -> Option<&'static str> {
    static M: OnceLock<HashMap<(u16, &'static str), &'static str>> = OnceLock::new();
    M.get_or_init(|| {
        let mut m = HashMap::new();
        for line in SERVICES.lines() {
            let line = line.split('#').next().unwrap_or("");
            let mut f = line.split_whitespace();
            let (Some(name), Some(pp)) = (f.next(), f.next()) else {
                continue;
            };
            let Some((port, proto)) = pp.split_once('/') else {
                continue;
            };
            if let Ok(port) = port.parse::<u16>() {
                m.entry((port, proto)).or_insert(name);
            }
        }
        m
    })
    .get(&(port, proto))
    .copied()
}
