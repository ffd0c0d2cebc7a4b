//! `pktpath rules ...`: the rule language on its own.
//!
//! - `validate FILE [--lenient]`: what `iptables-restore --test` (1.8.9, nf_tables) says
//!   of an iptables-save file: exit 0 when it accepts it, exit 2 with the line (as
//!   iptables-restore names it), the column and what was expected when it refuses it.
//! - `convert FILE --from save|commands|S|L --to save|S|L [--table T]`: between
//!   iptables-save files, scripts of `iptables` commands, `iptables -S` output and
//!   `iptables -L` listings (what a listing cannot show is reported on standard error).

use clap::{Subcommand, ValueEnum};
use pktpath_rules::formats::{
    apply_script, parse_list_rules, parse_listing, print_list_rules, print_listing, restore_test,
    ListFormat,
};
use pktpath_rules::{
    parse_save, parse_save_lenient, print_ruleset, ParseError, Ruleset, TableName,
};
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum RulesCmd {
    /// Check an iptables-save file like `iptables-restore --test` does (exit 0: accepted;
    /// exit 2: refused, with the line iptables-restore names).
    Validate {
        /// The file (`-` for standard input).
        file: String,
        /// Keep unknown match modules and targets (reported as warnings) instead of
        /// refusing them.
        #[arg(long)]
        lenient: bool,
    },
    /// Convert between rule formats.
    Convert {
        /// The input file (`-` for standard input).
        file: String,
        /// What the input is.
        #[arg(long, value_enum)]
        from: From,
        /// What to print.
        #[arg(long, value_enum, default_value_t = To::Save)]
        to: To,
        /// The table: of the input for `--from S` and `--from L` (which do not name it;
        /// default filter), and the only table printed for `--to S` and `--to L`.
        #[arg(long)]
        table: Option<String>,
        /// `--from commands`: apply the commands to this iptables-save file instead of
        /// to an empty ruleset.
        #[arg(long)]
        base: Option<String>,
        /// `--from save`: keep unknown match modules and targets verbatim.
        #[arg(long)]
        lenient: bool,
        /// `--to L`: the listing's options (default `-n -v --line-numbers`), as iptables
        /// takes them, e.g. `-nL` or `-vL` or `-nvxL --line-numbers`.
        #[arg(long, allow_hyphen_values = true)]
        list_options: Option<String>,
    },
}

/// Input formats.
#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum From {
    /// iptables-save output (what iptables-restore reads).
    Save,
    /// A script of `iptables ...` commands (`sudo`, comments, continuations).
    Commands,
    /// `iptables -S` output of one table.
    #[value(name = "S")]
    S,
    /// `iptables -L` listing of one table (any of -n, -v, -x, --line-numbers).
    #[value(name = "L")]
    L,
}

/// Output formats.
#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum To {
    /// iptables-save form.
    Save,
    /// `iptables -S` form.
    #[value(name = "S")]
    S,
    /// `iptables -L` form (default `-n -v --line-numbers`).
    #[value(name = "L")]
    L,
}

pub fn run(cmd: RulesCmd) -> Result<ExitCode, String> {
    match cmd {
        RulesCmd::Validate { file, lenient } => validate(&file, lenient),
        RulesCmd::Convert {
            file,
            from,
            to,
            table,
            base,
            lenient,
            list_options,
        } => convert(
            &file,
            from,
            to,
            table.as_deref(),
            base.as_deref(),
            lenient,
            list_options.as_deref(),
        ),
    }
}

fn read(file: &str) -> Result<String, String> {
    let bytes = if file == "-" {
        let mut v = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut v)
            .map_err(|e| format!("standard input: {e}"))?;
        v
    } else {
        std::fs::read(file).map_err(|e| format!("{file}: {e}"))?
    };
    // Bytes that are not UTF-8 become U+FFFD: no valid rule contains them either.
    // (Valid UTF-8, the usual case, is taken over without a copy.)
    Ok(String::from_utf8(bytes)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
}

/// `file:line:col: message`, then the line with a caret under the column.
fn show(e: &ParseError, text: &str) -> String {
    let mut s = e.to_string();
    if let Some(line) = text.split('\n').nth(e.line.saturating_sub(1) as usize) {
        let line = line.trim_end_matches('\r');
        let num = e.line.to_string();
        let pad = " ".repeat(num.len());
        let caret_at: String = line
            .chars()
            .take(e.col.saturating_sub(1) as usize)
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        s.push_str(&format!("\n {num} | {line}\n {pad} | {caret_at}^"));
    }
    s
}

fn validate(file: &str, lenient: bool) -> Result<ExitCode, String> {
    let text = read(file)?;
    match restore_test(&text, file, lenient) {
        Ok(warnings) => {
            for w in &warnings {
                eprintln!("warning: {}", show(w, &text));
            }
            println!("{file}: accepted (as by iptables-restore --test)");
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => Err(show(&e, &text)),
    }
}

fn table_arg(table: Option<&str>) -> Result<Option<TableName>, String> {
    table
        .map(|t| {
            TableName::parse(t).ok_or_else(|| {
                format!("--table {t}: expected raw, mangle, nat, filter or security")
            })
        })
        .transpose()
}

/// `-nvL --line-numbers`-style options.
fn list_format(opts: Option<&str>) -> Result<ListFormat, String> {
    let Some(opts) = opts else {
        return Ok(ListFormat::NVL_LINES);
    };
    let mut f = ListFormat::default();
    for w in opts.split_whitespace() {
        match w {
            "--line-numbers" => f.line_numbers = true,
            "--numeric" => f.numeric = true,
            "--verbose" => f.verbose = true,
            "--exact" => f.exact = true,
            "--list" => {}
            _ if w.starts_with('-') && !w.starts_with("--") => {
                for c in w[1..].chars() {
                    match c {
                        'n' => f.numeric = true,
                        'v' => f.verbose = true,
                        'x' => f.exact = true,
                        'L' => {}
                        _ => return Err(format!("--list-options: unknown option `-{c}`; expected -n, -v, -x, -L, --line-numbers")),
                    }
                }
            }
            _ => {
                return Err(format!(
                    "--list-options: unknown option `{w}`; expected -n, -v, -x, -L, --line-numbers"
                ))
            }
        }
    }
    Ok(f)
}

fn convert(
    file: &str,
    from: From,
    to: To,
    table: Option<&str>,
    base: Option<&str>,
    lenient: bool,
    list_options: Option<&str>,
) -> Result<ExitCode, String> {
    let table = table_arg(table)?;
    let text = read(file)?;
    let rs: Ruleset = match from {
        From::Save => {
            if lenient {
                let (rs, warnings) = parse_save_lenient(&text, file);
                for w in &warnings {
                    eprintln!("warning: {}", show(w, &text));
                }
                rs
            } else {
                parse_save(&text, file).map_err(|e| show(&e, &text))?
            }
        }
        From::Commands => {
            let start = match base {
                Some(b) => {
                    let bt = read(b)?;
                    parse_save(&bt, b).map_err(|e| show(&e, &bt))?
                }
                None => Ruleset::default(),
            };
            apply_script(start, &text, file).map_err(|e| show(&e, &text))?
        }
        From::S => parse_list_rules(&text, file, table.unwrap_or(TableName::Filter))
            .map_err(|e| show(&e, &text))?,
        From::L => {
            let p = parse_listing(&text, file, table.unwrap_or(TableName::Filter))
                .map_err(|e| show(&e, &text))?;
            for l in &p.lossy {
                eprintln!("lossy: {file}:{}:{}: {}", l.line, l.col, l.what);
            }
            p.ruleset
        }
    };
    let tables: Vec<TableName> = match table {
        Some(t) => vec![t],
        None => rs.tables.iter().map(|t| t.name).collect(),
    };
    let several = tables.len() > 1;
    let mut out = String::new();
    match to {
        To::Save => {
            let mut one = rs.clone();
            if let Some(t) = table {
                one.tables.retain(|x| x.name == t);
            }
            out = print_ruleset(&one);
        }
        To::S => {
            for t in tables {
                if several {
                    out.push_str(&format!("# iptables -t {} -S\n", t.as_str()));
                }
                out.push_str(&print_list_rules(&rs, t, None).unwrap_or_default());
            }
        }
        To::L => {
            let f = list_format(list_options)?;
            for (i, t) in tables.into_iter().enumerate() {
                if several {
                    if i > 0 {
                        out.push('\n');
                    }
                    out.push_str(&format!("# iptables -t {} -L\n", t.as_str()));
                }
                out.push_str(&print_listing(&rs, t, None, f).unwrap_or_default());
            }
        }
    }
    print!("{out}");
    Ok(ExitCode::SUCCESS)
}
