//! `iptables-restore --test`, as iptables 1.8.9 (nf_tables) does it: the file is read line
//! by line exactly like `xtables_restore_parse_line` (iptables/xtables-restore.c) reads it,
//! and each rule line is split like `add_param_to_argv` (iptables/xshared.c) splits it and
//! parsed like `do_parse` parses it. With `--test` iptables-nft never commits: the
//! commands are queued and dropped, so nothing that is checked when the batch is prepared
//! or by the kernel is checked here either (a jump to a chain that does not exist, `-A` to
//! an undeclared chain, an insert index, a policy name, a target's table or hooks, jump
//! loops). What is refused is what iptables' own parsing refuses, at the same line.

use super::command::{parse_command_in, Command, CommandScratch, Context};
use crate::error::ParseError;
use crate::lex::Token;
use crate::model::TableName;
use crate::parse_rule::{check_chain_name, Mode};
use crate::parse_target::EXTENSION_TARGETS;
use std::borrow::Cow;

/// fgets() buffer of xtables-restore: longer lines are read in pieces, each counted as a
/// line of its own.
const LINE_BUFFER: usize = 10240;
/// `struct xt_param_buf`: one argument may hold at most 1023 bytes.
const PARAM_BUFFER: usize = 1024;

/// Check `text` like `iptables-restore --test` does. `Ok` holds the warnings of lenient
/// mode (unknown matches and targets kept verbatim instead of refused); `Err` is the first
/// refused line.
pub fn restore_test(text: &str, file: &str, lenient: bool) -> Result<Vec<ParseError>, ParseError> {
    let mode = if lenient { Mode::Lenient } else { Mode::Strict };
    let mut jobs = Vec::new();
    let scanned = scan(text, file, &mut jobs);
    // Rule lines are independent of each other (`--test` checks no chain or table
    // state), so they are parsed on every core; the earliest one that ends the run wins,
    // as in a line-by-line run, and wins over a later structural error.
    let (warnings, end) = run_jobs(&jobs, file, mode);
    match end {
        Some(JobEnd::Error(e)) => return Err(e),
        // `-h` prints the usage and ends iptables-restore (status 0).
        Some(JobEnd::Help) => return Ok(warnings),
        None => {}
    }
    let (open, line) = scanned?;
    if let Some(t) = open {
        return Err(ParseError {
            file: file.to_string(),
            line: line + 1,
            col: 1,
            message: format!(
                "COMMIT expected at line {}: table `{}` is not committed",
                line + 1,
                t.as_str()
            ),
        });
    }
    Ok(warnings)
}

/// One rule line for the parallel pass.
struct Job<'a> {
    line: u32,
    buf: &'a str,
    newline: bool,
    first_col: u32,
    table: TableName,
}

/// A chunk's result: warnings per job done, and where and how it stopped, if it did.
type ChunkResult = (Vec<Vec<ParseError>>, Option<(usize, JobEnd)>);

/// What ends a run early.
enum JobEnd {
    Error(ParseError),
    Help,
}

/// Parse one rule line: its warnings, or what ends the run.
fn run_job<'a>(
    j: &Job<'a>,
    file: &str,
    mode: Mode,
    toks: &mut Vec<Token<'a>>,
    scratch: &mut CommandScratch<'a>,
) -> Result<Vec<ParseError>, JobEnd> {
    toks.clear();
    let end_col = split_like_restore(j.buf, j.newline, j.first_col, toks).map_err(|col| {
        JobEnd::Error(ParseError {
            file: file.to_string(),
            line: j.line,
            col,
            message: "parameter too long (iptables takes at most 1023 bytes)".into(),
        })
    })?;
    // Only checked: the rules themselves are not needed.
    let cl = parse_command_in(
        toks,
        file,
        j.line,
        end_col,
        j.table,
        Context::Restore,
        mode,
        scratch,
        false,
    )
    .map_err(JobEnd::Error)?;
    match cl.command {
        Command::Help => Err(JobEnd::Help),
        _ => Ok(cl.warnings),
    }
}

/// Run the jobs on every core. Returns the warnings of the jobs before the first one that
/// ends the run (all of them if none does), and that end.
fn run_jobs(jobs: &[Job], file: &str, mode: Mode) -> (Vec<ParseError>, Option<JobEnd>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8);
    // Small chunks handed out one at a time: a core slowed down by other work takes
    // fewer of them.
    const CHUNK: usize = 2048;
    let n_chunks = jobs.len().div_ceil(CHUNK);
    // Each chunk: warnings per job done, and (index, end) if it stopped.
    let run_chunk = |k: usize| -> ChunkResult {
        let base = k * CHUNK;
        let part = &jobs[base..(base + CHUNK).min(jobs.len())];
        let mut done: Vec<Vec<ParseError>> = Vec::new();
        // One token buffer and one set of parser buffers for the whole chunk.
        let mut toks = Vec::new();
        let mut scratch = CommandScratch::default();
        for (i, j) in part.iter().enumerate() {
            match run_job(j, file, mode, &mut toks, &mut scratch) {
                Ok(w) => done.push(w),
                Err(end) => return (done, Some((base + i, end))),
            }
        }
        (done, None)
    };
    let results: Vec<Option<ChunkResult>> = if threads <= 1 || n_chunks <= 1 {
        (0..n_chunks).map(|k| Some(run_chunk(k))).collect()
    } else {
        let next = AtomicUsize::new(0);
        // The first chunk known to stop the run: later ones need not be parsed.
        let stop = AtomicUsize::new(usize::MAX);
        let slots: Mutex<Vec<Option<ChunkResult>>> =
            Mutex::new((0..n_chunks).map(|_| None).collect());
        let work = || loop {
            let k = next.fetch_add(1, Ordering::Relaxed);
            if k >= n_chunks || k > stop.load(Ordering::Relaxed) {
                break;
            }
            let r = run_chunk(k);
            if r.1.is_some() {
                stop.fetch_min(k, Ordering::Relaxed);
            }
            slots.lock().expect("no validation thread panicked")[k] = Some(r);
        };
        std::thread::scope(|s| {
            let helpers: Vec<_> = (1..threads.min(n_chunks)).map(|_| s.spawn(work)).collect();
            work();
            for h in helpers {
                h.join().expect("a validation thread panicked");
            }
        });
        slots.into_inner().expect("no validation thread panicked")
    };
    let mut warnings = Vec::new();
    // Chunks in file order; every chunk up to the first that stopped was parsed.
    for (done, end) in results.into_iter().map_while(|r| r) {
        warnings.extend(done.into_iter().flatten());
        if let Some((_, end)) = end {
            return (warnings, Some(end));
        }
    }
    (warnings, None)
}

/// The line-by-line pass: table and chain lines are checked here; rule lines become
/// [`Job`]s. Returns the table left open at the end and the last line number.
fn scan<'a>(
    text: &'a str,
    file: &str,
    jobs: &mut Vec<Job<'a>>,
) -> Result<(Option<TableName>, u32), ParseError> {
    let err = |line: u32, col: u32, message: String| ParseError {
        file: file.to_string(),
        line,
        col,
        message,
    };
    let mut table: Option<TableName> = None;
    let mut line = 0u32;
    for piece in pieces(text) {
        line += 1;
        let (buf, newline) = piece;
        if buf.is_empty() {
            if newline {
                continue;
            }
            // An empty last piece (the text ended in the middle of a long line): fgets
            // returned nothing more.
            line -= 1;
            break;
        }
        if buf.starts_with('#') {
            continue;
        }
        if table.is_some() && buf == "COMMIT" {
            table = None;
            continue;
        }
        if buf.starts_with('*') && table.is_none() {
            let Some((name, col)) = strtok(&buf[1..], 2) else {
                return Err(err(
                    line,
                    1,
                    "table name invalid: expected a table name after `*`".into(),
                ));
            };
            let t = TableName::parse(name).ok_or_else(|| {
                err(
                    line,
                    col,
                    format!(
                        "table name `{}` invalid; expected raw, mangle, nat, filter or security",
                        name.escape_debug()
                    ),
                )
            })?;
            table = Some(t);
            continue;
        }
        let Some(tname) = table else {
            return Err(err(
                line,
                1,
                "line failed: expected `*table` (raw, mangle, nat, filter or security), or a `#` comment, before this line"
                    .into(),
            ));
        };
        if let Some(rest) = buf.strip_prefix(':') {
            let Some((chain, col)) = strtok(rest, 2) else {
                return Err(err(
                    line,
                    2,
                    "chain name invalid: expected a chain name after `:`".into(),
                ));
            };
            let tok = Token {
                text: Cow::Borrowed(chain),
                col,
            };
            let a = crate::args::Args::new(&[], file, line, col);
            check_chain_name(&a, &tok)?;
            if EXTENSION_TARGETS.contains(&chain) {
                return Err(err(
                    line,
                    col,
                    "chain name may not clash with target name".into(),
                ));
            }
            let after = col as usize - 1 + chain.len();
            if strtok(&buf[after..], after as u32 + 1).is_none() {
                return Err(err(
                    line,
                    (buf.chars().count() + 1) as u32,
                    format!("policy invalid: expected a policy (ACCEPT, DROP or -) after chain `{chain}`"),
                ));
            }
            continue;
        }
        // A rule line: `[packets:bytes]` counters, then the arguments.
        let mut start = 0;
        if buf.starts_with('[') {
            let need = |what: &str| {
                err(
                    line,
                    1,
                    format!("bad line: need `{what}` (counters are `[packets:bytes]`)"),
                )
            };
            let close = buf.find(']').ok_or_else(|| need("]"))?;
            // strtok(buffer+1, ":") then strtok(NULL, "]").
            let inner = buf.strip_prefix('[').unwrap_or(buf);
            let Some(p0) = inner.find(|c| c != ':') else {
                return Err(need(":"));
            };
            let after_p = match inner[p0..].find(':') {
                Some(k) => p0 + k + 1,
                None => return Err(need("]")),
            };
            if !inner[after_p..].contains(|c| c != ']') {
                return Err(need("]"));
            }
            start = close + 1;
        }
        jobs.push(Job {
            line,
            buf: &buf[start..],
            newline,
            first_col: start as u32 + 1,
            table: tname,
        });
    }
    Ok((table, line))
}

/// The lines as fgets() hands them out: pieces of at most LINE_BUFFER-1 bytes, with
/// whether the piece ends a line.
fn pieces(text: &str) -> impl Iterator<Item = (&str, bool)> {
    let mut rest = text;
    // A line longer than the buffer, still being cut: (what is left, its newline).
    let mut long: Option<(&str, bool)> = None;
    std::iter::from_fn(move || {
        // fgets stops after LINE_BUFFER-1 bytes; the newline counts among them.
        let limit = LINE_BUFFER - 1;
        let (l, nl) = match long.take() {
            Some(x) => x,
            None => {
                if rest.is_empty() {
                    return None;
                }
                let (l, nl, next) = match rest.find('\n') {
                    Some(k) => (&rest[..k], true, &rest[k + 1..]),
                    None => (rest, false, ""),
                };
                rest = next;
                (l, nl)
            }
        };
        if l.len() + usize::from(nl) > limit {
            let mut cut = limit.min(l.len());
            while !l.is_char_boundary(cut) {
                cut -= 1;
            }
            long = Some((&l[cut..], nl));
            return Some((&l[..cut], false));
        }
        Some((l, nl))
    })
}

/// strtok(s, " \t\n"): the first word and its column (`first_col` is s's first column).
fn strtok(s: &str, first_col: u32) -> Option<(&str, u32)> {
    let start = s.find(|c| !matches!(c, ' ' | '\t' | '\n'))?;
    let end = s[start..]
        .find([' ', '\t', '\n'])
        .map_or(s.len(), |k| start + k);
    Some((
        &s[start..end],
        first_col + s[..start].chars().count() as u32,
    ))
}

/// add_param_to_argv: blanks separate arguments; a double quote opens a quoted part in
/// which a backslash escapes the next character and which a closing quote ends (the
/// argument ends there too); an unterminated quote runs to the end of the line, newline
/// included. Returns the column past the end, or the column of an argument that is too
/// long.
fn split_like_restore<'a>(
    s: &'a str,
    newline: bool,
    first_col: u32,
    out: &mut Vec<Token<'a>>,
) -> Result<u32, u32> {
    let b = s.as_bytes();
    let ascii = s.is_ascii();
    let col_of = |off: usize| -> u32 {
        if ascii {
            first_col + off as u32
        } else {
            first_col + s[..off].chars().count() as u32
        }
    };
    let blank = |c: u8| matches!(c, b' ' | b'\t' | b'\n');
    let mut i = 0;
    // Arguments without quotes, and `"text"` / `word"text"` without backslashes (nearly
    // all of them), are borrowed from the line; anything else is left to split_chars
    // from its first character on.
    while i < b.len() {
        if blank(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !blank(b[i]) && b[i] != b'"' {
            i += 1;
        }
        let text = if i < b.len() && b[i] == b'"' {
            let quote_at = i;
            let mut close = quote_at + 1;
            while close < b.len() && b[close] != b'"' && b[close] != b'\\' {
                close += 1;
            }
            if close == b.len() || b[close] != b'"' {
                // An escape, or a quote left open.
                return split_chars(&s[start..], newline, col_of(start), out);
            }
            // The closing quote ends the argument.
            i = close + 1;
            if start == quote_at {
                Cow::Borrowed(&s[quote_at + 1..close])
            } else {
                let mut t = String::with_capacity(close - start - 1);
                t.push_str(&s[start..quote_at]);
                t.push_str(&s[quote_at + 1..close]);
                Cow::Owned(t)
            }
        } else {
            Cow::Borrowed(&s[start..i])
        };
        let col = col_of(start);
        // add_param_to_argv refuses an argument of PARAM_BUFFER bytes or more.
        if text.len() >= PARAM_BUFFER {
            return Err(col);
        }
        out.push(Token { text, col });
    }
    Ok(col_of(b.len()))
}

/// [`split_like_restore`] character by character (escapes, a quote left open).
fn split_chars<'a>(
    s: &'a str,
    newline: bool,
    first_col: u32,
    out: &mut Vec<Token<'a>>,
) -> Result<u32, u32> {
    let mut cur = String::new();
    let mut cur_col = 0u32;
    let mut have = false;
    let (mut quote_open, mut escaped) = (false, false);
    let newline_str = if newline { "\n" } else { "" };
    for (here, c) in (first_col..).zip(s.chars().chain(newline_str.chars())) {
        if quote_open {
            if escaped {
                cur.push(c);
                escaped = false;
                continue;
            } else if c == '\\' {
                escaped = true;
                continue;
            } else if c == '"' {
                quote_open = false;
            } else {
                cur.push(c);
                if cur.len() >= PARAM_BUFFER {
                    return Err(cur_col);
                }
                continue;
            }
        } else if c == '"' {
            quote_open = true;
            if !have {
                have = true;
                cur_col = here;
            }
            continue;
        }
        match c {
            // A closing quote ends the argument, even an empty one (`""`).
            '"' => {}
            ' ' | '\t' | '\n' => {
                if cur.is_empty() {
                    // Two blanks: no argument.
                    have = false;
                    continue;
                }
            }
            _ => {
                if !have {
                    have = true;
                    cur_col = here;
                }
                cur.push(c);
                if cur.len() >= PARAM_BUFFER {
                    return Err(cur_col);
                }
                continue;
            }
        }
        // End of an argument (a blank, or a closing quote).
        out.push(Token {
            text: Cow::Owned(std::mem::take(&mut cur)),
            col: cur_col,
        });
        have = false;
    }
    if !cur.is_empty() {
        out.push(Token {
            text: Cow::Owned(cur),
            col: cur_col,
        });
    }
    Ok(first_col + s.chars().count() as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    type Split = for<'a> fn(&'a str, bool, u32, &mut Vec<Token<'a>>) -> Result<u32, u32>;

    fn run(f: Split, s: &str, newline: bool) -> (Result<u32, u32>, Vec<(String, u32)>) {
        let mut v = Vec::new();
        let r = f(s, newline, 3, &mut v);
        (
            r,
            v.into_iter()
                .map(|t| (t.text.into_owned(), t.col))
                .collect(),
        )
    }

    /// The borrowing splitter gives exactly what the character-by-character one gives,
    /// on every line of up to 6 characters over blanks, quotes, backslashes, letters and
    /// a multi-byte character.
    #[test]
    fn fast_split_equals_char_split() {
        let alphabet = ['a', ' ', '"', '\\', '\t', 'é'];
        let mut lines = vec![String::new()];
        for len in 1..=6 {
            let mut next = Vec::new();
            for l in lines.iter().filter(|l| l.chars().count() == len - 1) {
                for c in alphabet {
                    next.push(format!("{l}{c}"));
                }
            }
            lines.extend(next);
        }
        for l in &lines {
            for nl in [false, true] {
                assert_eq!(
                    run(split_like_restore, l, nl),
                    run(split_chars, l, nl),
                    "line {l:?} newline {nl}"
                );
            }
        }
    }

    #[test]
    fn fast_split_long_arguments() {
        for n in [1022, 1023, 1024, 1025] {
            for l in [
                format!("-A {}", "x".repeat(n)),
                format!("-A \"{}\" y", "x".repeat(n)),
                format!("-A a\"{}\"", "x".repeat(n)),
                format!("-A \"{}\\\"\"", "x".repeat(n)),
            ] {
                for nl in [false, true] {
                    assert_eq!(
                        run(split_like_restore, &l, nl),
                        run(split_chars, &l, nl),
                        "len {n} line {l:?}"
                    );
                }
            }
        }
    }
}
