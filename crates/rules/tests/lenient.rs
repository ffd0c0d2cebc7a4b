//! The lenient parser keeps what the model does not know verbatim (with warnings) and
//! prints it back unchanged.

use pktpath_rules::*;

#[test]
fn unknown_match_and_target_are_kept() {
    let text = "*filter\n:INPUT ACCEPT [0:0]\n:X - [0:0]\n\
-A INPUT -p tcp -m set ! --match-set blocked src,dst -m tcp --dport 22 -j ACCEPT\n\
-A INPUT -m time --timestart 06:59 --days Mon,Tue -j X\n\
-A X -j NFQUEUE --queue-num 3 --queue-bypass\n\
-A X -j MISSING\n\
COMMIT\n";
    assert!(parse_save(text, "t").is_err());
    let (rs, warnings) = parse_save_lenient(text, "t");
    let msgs: Vec<String> = warnings.iter().map(|w| w.to_string()).collect();
    assert_eq!(
        msgs,
        [
            "t:4:20: unknown match `set` kept verbatim",
            "t:5:13: unknown match `time` kept verbatim",
            "t:6:9: unsupported target `NFQUEUE` kept verbatim",
            "t:7:9: jump to missing chain or unknown target `MISSING` kept verbatim",
        ]
    );
    let input = &rs
        .table(TableName::Filter)
        .unwrap()
        .chain("INPUT")
        .unwrap()
        .rules;
    assert_eq!(
        input[0].matches[0],
        Match::Unknown {
            name: "set".into(),
            args: vec![
                "!".into(),
                "--match-set".into(),
                "blocked".into(),
                "src,dst".into()
            ],
        }
    );
    let printed = print_ruleset(&rs);
    assert!(printed.contains(
        "-A INPUT -p tcp -m set ! --match-set blocked src,dst -m tcp --dport 22 -j ACCEPT\n"
    ));
    assert!(printed.contains("-A INPUT -m time --timestart 06:59 --days Mon,Tue -j X\n"));
    assert!(printed.contains("-A X -j NFQUEUE --queue-num 3 --queue-bypass\n"));
    assert!(printed.contains("-A X -j MISSING\n"));
}

#[test]
fn lenient_still_reports_real_errors() {
    let (rs, warnings) =
        parse_save_lenient("*filter\n-A INPUT -s 1.2.3.400 -j ACCEPT\nCOMMIT\n", "t");
    assert!(rs.tables.is_empty());
    assert_eq!(warnings.len(), 1);
    assert_eq!(warnings[0].line, 2);
    assert_eq!(warnings[0].col, 13);
}
