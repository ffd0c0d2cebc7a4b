//! The loader: reads `world.toml` and every namespace's files from a [`SnapshotSource`] and
//! builds the [`World`], checking what the files say about each other (link endpoints exist
//! and are veths, routes name existing devices, ...).

use crate::error::LoadError;
use crate::json::JsonFile;
use crate::manifest::{self, Manifest, NsDecl};
use crate::model::{IfaceKind, Namespace, World};
use crate::source::{DirSource, SnapshotSource};
use crate::{interfaces, ip_rules, nft, routes, ss, sysctl};
use pktpath_rules::Ruleset;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Load the world snapshot in folder `dir`.
pub fn load_world(dir: &Path) -> Result<World, LoadError> {
    load_world_from(&DirSource(dir.to_path_buf()), dir.to_path_buf())
}

/// Load a world snapshot from any source; `root` is recorded as [`World::root`] (probe trace
/// paths are relative to it).
pub fn load_world_from(src: &dyn SnapshotSource, root: PathBuf) -> Result<World, LoadError> {
    let rel = Path::new("world.toml");
    let label = src.label(rel);
    let text = src.read(rel).ok_or_else(|| {
        LoadError::whole_file(
            &label,
            "file not found: expected a world manifest (world.toml)",
        )
    })?;
    let m = manifest::parse(&label, &text)?;
    let mut namespaces = Vec::with_capacity(m.namespaces.len());
    for decl in &m.namespaces {
        let veths: BTreeSet<String> = m
            .links
            .iter()
            .flat_map(|l| [&l.a, &l.b])
            .filter(|e| e.namespace == decl.name)
            .map(|e| e.interface.clone())
            .collect();
        namespaces.push(load_namespace(src, decl, &veths)?);
    }
    check_links(&m, &namespaces)?;
    Ok(World {
        description: m.description,
        seed: m.seed,
        captured: m.captured,
        root,
        namespaces,
        links: m
            .links
            .into_iter()
            .map(|l| crate::model::Link { a: l.a, b: l.b })
            .collect(),
        probes: m.probes,
    })
}

/// Each link end must be an interface of its namespace, and a veth.
fn check_links(m: &Manifest, namespaces: &[Namespace]) -> Result<(), LoadError> {
    for l in &m.links {
        for (end, span) in [(&l.a, &l.a_span), (&l.b, &l.b_span)] {
            let Some(ns) = namespaces.iter().find(|n| n.name == end.namespace) else {
                continue; // the manifest already checked the name
            };
            match ns.interface(&end.interface) {
                None => {
                    let have: Vec<_> = ns.interfaces.iter().map(|i| i.name.as_str()).collect();
                    return Err(m.error_at(
                        span,
                        format!(
                            "no interface `{}` in namespace `{}`: expected one of its interfaces ({}; from its ip-addr.json / ip-link.json)",
                            end.interface,
                            end.namespace,
                            have.join(", ")
                        ),
                    ));
                }
                Some(i) if i.kind != IfaceKind::Veth => {
                    return Err(m.error_at(
                        span,
                        format!(
                            "`{}:{}` is a {} interface (ip-link.json): expected a veth",
                            end.namespace,
                            end.interface,
                            kind_name(&i.kind)
                        ),
                    ));
                }
                Some(_) => {}
            }
        }
    }
    Ok(())
}

/// One namespace's files; each is optional (a missing file means the kernel's default).
fn load_namespace(
    src: &dyn SnapshotSource,
    decl: &NsDecl,
    veths: &BTreeSet<String>,
) -> Result<Namespace, LoadError> {
    let read = |file: &str| {
        let rel = decl.dir.join(file);
        src.read(&rel).map(|text| JsonFile {
            label: src.label(&rel),
            text,
        })
    };
    let addr = read("ip-addr.json");
    let link = read("ip-link.json");
    let ifaces = interfaces::load(addr.as_ref(), link.as_ref(), veths)?;
    let routes = match read("ip-route.json") {
        Some(f) => routes::parse(&f, &ifaces)?,
        None => routes::derive(&ifaces),
    };
    let rules = match read("ip-rule.json") {
        Some(f) => ip_rules::parse(&f)?,
        None => ip_rules::defaults(),
    };
    let sysctls = match read("sysctl.txt") {
        Some(f) => sysctl::parse(&f.label, &f.text)?,
        None => sysctl::defaults(),
    };
    let mut sockets = match read("ss.txt") {
        Some(f) => ss::parse(&f.label, &f.text)?,
        None => Vec::new(),
    };
    for p in &decl.processes {
        let Some(l) = &p.listen else { continue };
        match sockets.iter_mut().find(|s| ss::same_socket(s, l)) {
            Some(s) => {
                if s.process.is_none() {
                    s.process = l.process.clone();
                }
            }
            None => sockets.push(l.clone()),
        }
    }
    let ruleset = match read("iptables-save.txt") {
        Some(f) => pktpath_rules::parse_save(&f.text, &f.label)
            .map_err(|e| LoadError::from_rules(e, &f.text))?,
        None => Ruleset::default(),
    };
    let base_chains = match read("nft-ruleset.txt") {
        Some(f) => Some(nft::parse(&f.label, &f.text)?),
        None => None,
    };
    Ok(Namespace {
        name: decl.name.clone(),
        role: decl.role,
        interfaces: ifaces.into_iter().map(|l| l.iface).collect(),
        routes,
        rules,
        sysctls,
        sockets,
        processes: decl.processes.clone(),
        ruleset,
        base_chains,
    })
}

fn kind_name(k: &IfaceKind) -> &str {
    match k {
        IfaceKind::Loopback => "loopback",
        IfaceKind::Veth => "veth",
        IfaceKind::Bridge => "bridge",
        IfaceKind::Other(k) if !k.is_empty() => k,
        IfaceKind::Other(_) => "non-veth",
    }
}
