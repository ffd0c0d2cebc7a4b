//! Parse an iptables-save file and print it back the way iptables-save would:
//! `cargo run -p pktpath-rules --example print_file -- FILE`.

fn main() {
    let path = std::env::args().nth(1).expect("usage: print_file FILE");
    let text = std::fs::read_to_string(&path).expect("readable file");
    match pktpath_rules::parse_save(&text, &path) {
        Ok(rs) => print!("{}", pktpath_rules::print_ruleset(&rs)),
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    }
}
