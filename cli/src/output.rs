//! Human versus `--json` output: one JSON object or array per command (one line each for event
//! streams), aligned tables and short times for people.
//!
//! Results go to standard output and notes to standard error, so `$(hyperforge auth get …)` and
//! pipes to `jq` see only the result. Every write returns an error instead of panicking, so a
//! closed pipe ends the command quietly (see [`crate::error::ErrorKind::BrokenPipe`]).

use std::io::{self, Write};
use std::time::Duration;

use chrono::{DateTime, Local, SecondsFormat, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::error::CliError;

/// Where a command's results go and in which form.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    json: bool,
}

impl Output {
    /// Output in JSON (`--json`) or for people.
    pub fn new(json: bool) -> Self {
        Self { json }
    }

    /// True with `--json`.
    pub fn is_json(&self) -> bool {
        self.json
    }

    /// Writes one JSON value on one line, straight to standard output (no intermediate string,
    /// so a secret value in it is not copied around).
    ///
    /// # Errors
    /// A write error; a closed pipe becomes the quiet [`crate::error::ErrorKind::BrokenPipe`].
    pub fn json<T: Serialize + ?Sized>(&self, value: &T) -> Result<(), CliError> {
        let mut stdout = io::stdout().lock();
        serde_json::to_writer(&mut stdout, value).map_err(|error| match error.io_error_kind() {
            Some(kind) => CliError::from(io::Error::from(kind)),
            None => CliError::failure(format!("cannot encode JSON output: {error}")),
        })?;
        stdout.write_all(b"\n")?;
        stdout.flush()?;
        Ok(())
    }

    /// Writes a line (a newline is added unless `text` already ends with one or is empty).
    ///
    /// # Errors
    /// As [`Output::json`].
    pub fn line(&self, text: &str) -> Result<(), CliError> {
        if text.is_empty() || text.ends_with('\n') {
            write_stdout(text.as_bytes())
        } else {
            let mut stdout = io::stdout().lock();
            stdout.write_all(text.as_bytes())?;
            stdout.write_all(b"\n")?;
            stdout.flush()?;
            Ok(())
        }
    }

    /// Writes a secret value (or a key) followed by a newline, and nothing else.
    ///
    /// # Errors
    /// As [`Output::json`].
    pub fn secret(&self, value: &str) -> Result<(), CliError> {
        let mut stdout = io::stdout().lock();
        stdout.write_all(value.as_bytes())?;
        stdout.write_all(b"\n")?;
        stdout.flush()?;
        Ok(())
    }
}

fn write_stdout(bytes: &[u8]) -> Result<(), CliError> {
    let mut stdout = io::stdout().lock();
    stdout.write_all(bytes)?;
    stdout.flush()?;
    Ok(())
}

/// Prints a note for people on standard error (never a result, never a secret).
pub fn note(text: &str) {
    // A closed stderr leaves nobody to tell; ignore it rather than panic like eprintln!.
    let _ = writeln!(io::stderr().lock(), "{text}");
}

/// Prints a prompt on standard error without a newline.
pub fn note_inline(text: &str) {
    let mut stderr = io::stderr().lock();
    let _ = stderr.write_all(text.as_bytes());
    let _ = stderr.flush();
}

/// Aligns rows under headers, two spaces between columns; the last column is not padded.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(width) = widths.get_mut(i) {
                *width = (*width).max(cell.chars().count());
            }
        }
    }
    let mut out = String::new();
    let header: Vec<String> = headers.iter().map(|h| (*h).to_owned()).collect();
    for row in std::iter::once(&header).chain(rows) {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            line.push_str(cell);
            if i + 1 < row.len() {
                let width = widths.get(i).copied().unwrap_or(0);
                line.push_str(&" ".repeat(width.saturating_sub(cell.chars().count())));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// A time for JSON: RFC 3339 in UTC, to the second.
pub fn time_json(time: DateTime<Utc>) -> Value {
    Value::String(time.to_rfc3339_opts(SecondsFormat::Secs, true))
}

/// An optional time for JSON: the time, or `null`.
pub fn opt_time_json(time: Option<DateTime<Utc>>) -> Value {
    time.map_or(Value::Null, time_json)
}

/// A time for people: local date and minute.
pub fn time_human(time: DateTime<Utc>) -> String {
    time.with_timezone(&Local)
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// An optional time for people, `-` when absent.
pub fn opt_time_human(time: Option<DateTime<Utc>>) -> String {
    time.map_or_else(|| "-".to_owned(), time_human)
}

/// A coarse duration for people: `42s`, `5m`, `3h 12m`, `2d 4h`.
pub fn short_duration(duration: Duration) -> String {
    let secs = duration.as_secs();
    match secs {
        0..=59 => format!("{secs}s"),
        60..=3599 => format!("{}m", secs / 60),
        3600..=86_399 => format!("{}h {}m", secs / 3600, secs % 3600 / 60),
        _ => format!("{}d {}h", secs / 86_400, secs % 86_400 / 3600),
    }
}

/// How long ago `time` was, for people.
pub fn age(time: DateTime<Utc>, now: DateTime<Utc>) -> String {
    short_duration((now - time).to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_aligns_columns_and_trims_the_last() {
        let rows = vec![
            vec![
                "github/alice/token".to_owned(),
                "2".to_owned(),
                "x".to_owned(),
            ],
            vec!["cargo/token".to_owned(), "10".to_owned(), String::new()],
        ];
        assert_eq!(
            table(&["path", "version", "updated"], &rows),
            "path                version  updated\n\
             github/alice/token  2        x\n\
             cargo/token         10\n"
        );
    }

    #[test]
    fn durations_are_short() {
        assert_eq!(short_duration(Duration::from_secs(42)), "42s");
        assert_eq!(short_duration(Duration::from_secs(300)), "5m");
        assert_eq!(
            short_duration(Duration::from_secs(3 * 3600 + 720)),
            "3h 12m"
        );
        assert_eq!(
            short_duration(Duration::from_secs(2 * 86_400 + 4 * 3600)),
            "2d 4h"
        );
    }

    #[test]
    fn json_times_are_rfc3339_utc() {
        let time = DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default();
        assert_eq!(
            time_json(time),
            Value::String("2023-11-14T22:13:20Z".into())
        );
        assert_eq!(opt_time_json(None), Value::Null);
    }
}
