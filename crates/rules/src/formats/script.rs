//! Scripts of `iptables` commands, as people paste them: `sudo iptables -t nat -A ...`
//! (also after a `$ ` prompt),
//! `#` comments (also after a command), backslash-newline continuations, `;`/`&&`
//! separators, and shell quoting (`'...'`, `"..."`, `\x`). Each command is parsed with
//! [`super::command::parse_command`] and can be applied in order to a ruleset.

use super::apply::apply_command;
use super::command::{parse_command, CommandLine, Context};
use crate::error::ParseError;
use crate::lex::Token;
use crate::model::*;
use crate::parse_rule::Mode;
use std::borrow::Cow;

/// One shell word and where it starts.
#[derive(Debug, Clone)]
struct Word {
    text: String,
    line: u32,
    col: u32,
}

/// Split a script into commands (lists of words). Errors: unterminated quotes.
fn split_commands(text: &str, file: &str) -> Result<Vec<Vec<Word>>, ParseError> {
    let mut cmds = Vec::new();
    let mut cur: Vec<Word> = Vec::new();
    let mut word: Option<Word> = None;
    let chars: Vec<char> = text.chars().collect();
    let (mut line, mut col) = (1u32, 1u32);
    let mut i = 0;
    // Advance over chars[i], keeping line and column.
    macro_rules! bump {
        () => {{
            if chars[i] == '\n' {
                line += 1;
                col = 1;
            } else {
                col += 1;
            }
            i += 1;
        }};
    }
    let start_word = |w: &mut Option<Word>, line: u32, col: u32| {
        if w.is_none() {
            *w = Some(Word {
                text: String::new(),
                line,
                col,
            });
        }
    };
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' | '\r' => {
                if let Some(w) = word.take() {
                    cur.push(w);
                }
                bump!();
            }
            '\n' | ';' => {
                if let Some(w) = word.take() {
                    cur.push(w);
                }
                if !cur.is_empty() {
                    cmds.push(std::mem::take(&mut cur));
                }
                bump!();
            }
            '&' | '|' if chars.get(i + 1) == Some(&c) && word.is_none() => {
                if !cur.is_empty() {
                    cmds.push(std::mem::take(&mut cur));
                }
                bump!();
                bump!();
            }
            '#' if word.is_none() => {
                while i < chars.len() && chars[i] != '\n' {
                    bump!();
                }
            }
            '\\' => {
                if chars.get(i + 1) == Some(&'\n') {
                    // Line continuation.
                    bump!();
                    bump!();
                    continue;
                }
                start_word(&mut word, line, col);
                bump!();
                if i < chars.len() {
                    word.as_mut().expect("started").text.push(chars[i]);
                    bump!();
                }
            }
            '\'' | '"' => {
                start_word(&mut word, line, col);
                let (qline, qcol) = (line, col);
                bump!();
                loop {
                    if i >= chars.len() {
                        return Err(ParseError {
                            file: file.to_string(),
                            line: qline,
                            col: qcol,
                            message: format!(
                                "unterminated quoted string; expected a closing `{c}`"
                            ),
                        });
                    }
                    let d = chars[i];
                    if d == c {
                        bump!();
                        break;
                    }
                    if c == '"' && d == '\\' {
                        if let Some(&e) = chars.get(i + 1) {
                            if matches!(e, '"' | '\\' | '$' | '`' | '\n') {
                                bump!();
                                if e != '\n' {
                                    word.as_mut().expect("started").text.push(e);
                                }
                                bump!();
                                continue;
                            }
                        }
                    }
                    word.as_mut().expect("started").text.push(d);
                    bump!();
                }
            }
            _ => {
                start_word(&mut word, line, col);
                word.as_mut().expect("started").text.push(c);
                bump!();
            }
        }
    }
    if let Some(w) = word.take() {
        cur.push(w);
    }
    if !cur.is_empty() {
        cmds.push(cur);
    }
    Ok(cmds)
}

/// Parse a script of `iptables` commands. `table` is not needed: each command names its
/// own (`-t`, default `filter`).
pub fn parse_script(text: &str, file: &str) -> Result<Vec<CommandLine>, ParseError> {
    let mut out = Vec::new();
    for words in split_commands(text, file)? {
        out.push(parse_script_command(&words, file)?);
    }
    Ok(out)
}

/// Skip a pasted shell prompt (`$`, `❯`, `%`, `>`), `sudo [options]` and `VAR=value`
/// words; return the index of the program word.
fn program_index(words: &[Word]) -> usize {
    let mut k = 0;
    if words.len() > 1 && matches!(words[0].text.as_str(), "$" | "❯" | "%" | ">") {
        k = 1;
    }
    while k < words.len() {
        let w = words[k].text.as_str();
        if w == "sudo" || w == "command" || w == "exec" {
            k += 1;
            while k < words.len() && words[k].text.starts_with('-') && words[k].text != "--" {
                let takes = matches!(
                    words[k].text.as_str(),
                    "-u" | "-g" | "-h" | "-p" | "-U" | "-C"
                );
                k += if takes { 2 } else { 1 };
            }
            if words.get(k).is_some_and(|w| w.text == "--") {
                k += 1;
            }
            continue;
        }
        if !w.starts_with('=') && w.contains('=') && !w.starts_with('-') {
            k += 1;
            continue;
        }
        break;
    }
    k
}

fn parse_script_command(words: &[Word], file: &str) -> Result<CommandLine, ParseError> {
    let k = program_index(words);
    let Some(prog) = words.get(k) else {
        let w = &words[0];
        return Err(ParseError {
            file: file.to_string(),
            line: w.line,
            col: w.col,
            message: "expected an `iptables` command after `sudo`".into(),
        });
    };
    let base = prog.text.rsplit('/').next().unwrap_or("");
    if !matches!(base, "iptables" | "iptables-nft" | "iptables-legacy") {
        return Err(ParseError {
            file: file.to_string(),
            line: prog.line,
            col: prog.col,
            message: format!("expected an `iptables` command, found `{}`", prog.text),
        });
    }
    let args = &words[k + 1..];
    let one_line = args.iter().all(|w| w.line == prog.line);
    // Columns: the real ones when the command is on one line; otherwise each word gets a
    // place in a virtual line and errors are mapped back to the word's line and column.
    let mut vcol = prog.col + prog.text.chars().count() as u32 + 1;
    let mut toks = Vec::with_capacity(args.len());
    let mut places = Vec::with_capacity(args.len());
    for w in args {
        let col = if one_line { w.col } else { vcol };
        vcol = col + w.text.chars().count() as u32 + 1;
        places.push((col, w.line, w.col));
        toks.push(Token {
            text: Cow::Owned(w.text.clone()),
            col,
        });
    }
    let end_col = if one_line {
        args.last()
            .map_or(prog.col + prog.text.chars().count() as u32, |w| {
                w.col + w.text.chars().count() as u32
            })
    } else {
        vcol - 1
    };
    parse_command(
        &toks,
        file,
        prog.line,
        end_col,
        TableName::Filter,
        Context::Command,
        Mode::Strict,
    )
    .map(|mut cl| {
        if !one_line {
            let (line, col) = map_back(&places, cl.pos.col, prog);
            cl.pos = Pos { line, col };
        }
        cl
    })
    .map_err(|mut e| {
        if !one_line {
            let (line, col) = map_back(&places, e.col, prog);
            e.line = line;
            e.col = col;
        }
        e
    })
}

/// A virtual column back to (line, column) in the script.
fn map_back(places: &[(u32, u32, u32)], vcol: u32, prog: &Word) -> (u32, u32) {
    let mut best = (prog.line, prog.col);
    for &(v, line, col) in places {
        if v <= vcol {
            best = (line, col + (vcol - v));
        }
    }
    best
}

/// Apply a script's commands in order to `base` (an empty ruleset, or one loaded from an
/// iptables-save file), as running them one after the other would.
pub fn apply_script(base: Ruleset, text: &str, file: &str) -> Result<Ruleset, ParseError> {
    let mut rs = base;
    for cl in parse_script(text, file)? {
        apply_command(&mut rs, &cl, file)?;
    }
    Ok(rs)
}
