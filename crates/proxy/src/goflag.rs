//! Command-line parsing with the rules of Go's `flag` package, which is what
//! docker-proxy uses (`flag.Parse()` on the default `FlagSet`).
//!
//! The rules reproduced here (Go `flag.(*FlagSet).parseOne`):
//! - `-name`, `--name`, `-name=value`, `--name=value`; a non-boolean flag
//!   without `=` takes the next argument as its value, whatever it looks like;
//! - a boolean flag never takes the next argument (`-b false` sets `b` and
//!   stops parsing at `false`); it takes a value only as `-b=false`;
//! - parsing stops at the first non-flag argument (one not starting with `-`,
//!   or a lone `-`) and after `--`; what follows is left unparsed;
//! - `-h`/`-help` not defined as flags ask for help;
//! - a later occurrence of a flag overrides an earlier one;
//! - integers are parsed as `strconv.ParseInt(s, 0, 64)`, booleans as
//!   `strconv.ParseBool`.

use std::collections::HashMap;

/// Whether a flag is boolean (takes no separate value) or takes a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Bool,
    Value,
}

/// Why parsing stopped without a result.
#[derive(Debug, PartialEq, Eq)]
pub enum FlagError {
    /// `-h`, `-help` (Go: `flag.ErrHelp`).
    Help,
    /// A syntax error, worded as Go's `flag` package words it.
    Bad(String),
}

/// The result of a successful parse: the last value given for each flag that
/// appeared (booleans given without a value read "true"), and the arguments
/// left after the flags.
#[derive(Debug, Default)]
pub struct Parsed {
    pub values: HashMap<String, String>,
    pub rest: Vec<String>,
}

/// Parses `args` (without the program name) against the defined flags.
pub fn parse(defined: &[(&str, Kind)], args: &[String]) -> Result<Parsed, FlagError> {
    let kinds: HashMap<&str, Kind> = defined.iter().copied().collect();
    let mut out = Parsed::default();
    let mut i = 0;
    while i < args.len() {
        let s = &args[i];
        if s.len() < 2 || !s.starts_with('-') {
            break; // first non-flag argument
        }
        let mut minuses = 1;
        if s.as_bytes()[1] == b'-' {
            minuses = 2;
            if s.len() == 2 {
                i += 1; // "--" terminates the flags and is consumed
                break;
            }
        }
        let body = &s[minuses..];
        if body.is_empty() || body.starts_with('-') || body.starts_with('=') {
            return Err(FlagError::Bad(format!("bad flag syntax: {s}")));
        }
        i += 1;
        // Go searches for '=' from index 1: the name is never empty.
        let (name, inline) = match body.char_indices().skip(1).find(|&(_, c)| c == '=') {
            Some((p, _)) => (&body[..p], Some(&body[p + 1..])),
            None => (body, None),
        };
        let Some(kind) = kinds.get(name).copied() else {
            if name == "help" || name == "h" {
                return Err(FlagError::Help);
            }
            return Err(FlagError::Bad(format!(
                "flag provided but not defined: -{name}"
            )));
        };
        let value = match (kind, inline) {
            (Kind::Bool, Some(v)) => match parse_bool(v) {
                Some(b) => b.to_string(),
                None => {
                    return Err(FlagError::Bad(format!(
                        "invalid boolean value {v:?} for -{name}: parse error"
                    )))
                }
            },
            (Kind::Bool, None) => "true".to_string(),
            (Kind::Value, Some(v)) => v.to_string(),
            (Kind::Value, None) => match args.get(i) {
                Some(v) => {
                    i += 1;
                    v.clone()
                }
                None => {
                    return Err(FlagError::Bad(format!("flag needs an argument: -{name}")));
                }
            },
        };
        out.values.insert(name.to_string(), value);
    }
    out.rest = args[i..].to_vec();
    Ok(out)
}

/// Go's `strconv.ParseBool`.
pub fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// Go's `strconv.ParseInt(s, 0, 64)`: optional sign, then a base prefix
/// (`0x`, `0o`, `0b`, or a leading `0` for octal) and digits, with `_`
/// allowed between digits (and after a prefix) only when base is 0, which
/// it is for `flag.Int`. Errors read like Go's `flag` errors: "parse error"
/// or "value out of range".
pub fn parse_int(s: &str) -> Result<i64, &'static str> {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'+') => (false, &s[1..]),
        Some(b'-') => (true, &s[1..]),
        _ => (false, s),
    };
    if body.is_empty() {
        return Err("parse error");
    }
    let lower = body.to_ascii_lowercase();
    let (base, digits, prefixed) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d, true)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d, true)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d, true)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, &lower[1..], true)
    } else {
        (10, lower.as_str(), false)
    };
    if !underscores_ok(digits, prefixed) {
        return Err("parse error");
    }
    let mut magnitude: u128 = 0;
    let mut any = false;
    for c in digits.chars() {
        if c == '_' {
            continue;
        }
        let d = c.to_digit(base).ok_or("parse error")?;
        any = true;
        magnitude = magnitude * base as u128 + d as u128;
        if magnitude > (i64::MAX as u128) + 1 {
            // Keep scanning for syntax errors as Go does, but cap the value.
            magnitude = (i64::MAX as u128) + 2;
        }
    }
    if !any {
        return Err("parse error");
    }
    if neg {
        if magnitude > (i64::MAX as u128) + 1 {
            return Err("value out of range");
        }
        Ok((-(magnitude as i128)) as i64)
    } else {
        i64::try_from(magnitude).map_err(|_| "value out of range")
    }
}

/// Go's `underscoreOK`: underscores must separate digits; directly after a
/// base prefix counts as after a digit.
fn underscores_ok(digits: &str, prefixed: bool) -> bool {
    let mut prev_digit = prefixed; // after "0x" an underscore may follow
    let mut prev_underscore = false;
    for c in digits.chars() {
        if c == '_' {
            if !prev_digit {
                return false;
            }
            prev_underscore = true;
            prev_digit = false;
        } else {
            prev_underscore = false;
            prev_digit = true;
        }
    }
    !prev_underscore
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    const DEFS: &[(&str, Kind)] = &[("port", Kind::Value), ("b", Kind::Bool)];

    #[test]
    fn forms_of_a_value_flag() {
        for a in [
            &["-port", "80"][..],
            &["--port", "80"],
            &["-port=80"],
            &["--port=80"],
        ] {
            let p = parse(DEFS, &args(a)).unwrap();
            assert_eq!(p.values["port"], "80", "{a:?}");
        }
    }

    #[test]
    fn value_flag_takes_next_argument_even_if_it_looks_like_a_flag() {
        let p = parse(DEFS, &args(&["-port", "-b"])).unwrap();
        assert_eq!(p.values["port"], "-b");
        assert!(!p.values.contains_key("b"));
    }

    #[test]
    fn bool_flag_does_not_take_next_argument() {
        let p = parse(DEFS, &args(&["-b", "false", "-port", "1"])).unwrap();
        assert_eq!(p.values["b"], "true");
        assert_eq!(p.rest, args(&["false", "-port", "1"]));
        let p = parse(DEFS, &args(&["-b=false"])).unwrap();
        assert_eq!(p.values["b"], "false");
        assert_eq!(
            parse(DEFS, &args(&["-b=maybe"])).unwrap_err(),
            FlagError::Bad("invalid boolean value \"maybe\" for -b: parse error".into())
        );
    }

    #[test]
    fn stops_at_non_flag_and_double_dash() {
        let p = parse(DEFS, &args(&["-port", "1", "x", "-port", "2"])).unwrap();
        assert_eq!(p.values["port"], "1");
        assert_eq!(p.rest, args(&["x", "-port", "2"]));
        let p = parse(DEFS, &args(&["--", "-port", "2"])).unwrap();
        assert!(p.values.is_empty());
        assert_eq!(p.rest, args(&["-port", "2"]));
        let p = parse(DEFS, &args(&["-", "-port", "2"])).unwrap();
        assert_eq!(p.rest, args(&["-", "-port", "2"]));
    }

    #[test]
    fn last_occurrence_wins() {
        let p = parse(DEFS, &args(&["-port", "1", "-port=2"])).unwrap();
        assert_eq!(p.values["port"], "2");
    }

    #[test]
    fn errors_are_worded_like_go() {
        let bad = |a: &[&str]| match parse(DEFS, &args(a)).unwrap_err() {
            FlagError::Bad(m) => m,
            FlagError::Help => "help".into(),
        };
        assert_eq!(bad(&["-x"]), "flag provided but not defined: -x");
        assert_eq!(bad(&["-port"]), "flag needs an argument: -port");
        assert_eq!(bad(&["---port"]), "bad flag syntax: ---port");
        assert_eq!(bad(&["-=1"]), "bad flag syntax: -=1");
        assert_eq!(bad(&["-h"]), "help");
        assert_eq!(bad(&["--help"]), "help");
        assert_eq!(bad(&["-é=1"]), "flag provided but not defined: -é");
    }

    #[test]
    fn go_integers() {
        assert_eq!(parse_int("8080"), Ok(8080));
        assert_eq!(parse_int("+80"), Ok(80));
        assert_eq!(parse_int("-1"), Ok(-1));
        assert_eq!(parse_int("0x1F90"), Ok(8080));
        assert_eq!(parse_int("0X1f90"), Ok(8080));
        assert_eq!(parse_int("017"), Ok(15));
        assert_eq!(parse_int("0o17"), Ok(15));
        assert_eq!(parse_int("0b101"), Ok(5));
        assert_eq!(parse_int("8_080"), Ok(8080));
        assert_eq!(parse_int("0x_1F"), Ok(31));
        assert_eq!(parse_int("0"), Ok(0));
        assert_eq!(parse_int("9223372036854775807"), Ok(i64::MAX));
        assert_eq!(parse_int("-9223372036854775808"), Ok(i64::MIN));
        assert_eq!(parse_int("9223372036854775808"), Err("value out of range"));
        for bad in ["", "-", "0x", "08", "1__0", "_1", "1_", "80a", " 80"] {
            assert_eq!(parse_int(bad), Err("parse error"), "{bad:?}");
        }
    }
}
