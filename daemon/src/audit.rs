//! The audit log: one JSON line per decision or access, hash-chained so that tampering shows.
//!
//! ```text
//! {"seq":1,"time":"2025-01-02T03:04:05.678Z","event":"get_secret","uid":1000,…,"outcome":"ok","prev":"000…0"}
//! ```
//!
//! Fields appear in a fixed order: `seq` (from 1), `time` (RFC 3339 UTC, milliseconds), the
//! record's fields that are set ([`AuditRecord`]), then `prev`: the lowercase hex SHA-256 of the
//! previous line's bytes without its newline ([`CHAIN_START`] for the first line). Editing,
//! removing or reordering lines breaks the chain at the first line after the change, which
//! [`AuditLog::verify`] reports by number.
//!
//! The chain alone cannot tell that lines were cut from the end, or that the whole file was
//! deleted, so its head is anchored elsewhere: an [`AuditAnchor`] (the `seq` and hash of the last
//! line) is sealed in the file store's record. Only *durable* lines are anchored: the head the
//! last [`AuditLog::flush`] made durable, as of the hub's flush tick before the store's write
//! (or the store's own anchoring write, at most every couple of seconds while the log grows, and
//! at shutdown). After any crash the file therefore still holds the anchored line; lines appended
//! after it and never flushed may be lost by a crash, which is expected and not reported. On
//! start the hub compares the anchor with the file: fewer lines than the anchored `seq` (or no
//! file) is a truncated (or deleted) log, and the hub records that in the log itself
//! ([`TRUNCATED_EVENT`]), so `verify` keeps reporting it. While the hub runs, `verify` also
//! checks the line the hub last made durable.
//!
//! Records carry who asked for what and the outcome — never a secret value. Appends are buffered;
//! the daemon calls [`AuditLog::flush`] every ~200 ms, after decisions, and at shutdown, so a crash
//! loses at most the last unflushed lines, and a line torn by a crash is cut off on the next open.

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

use auth_hub_protocol::response::AuditVerification;
use chrono::{SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The `prev` of the first line: 64 zeros.
pub const CHAIN_START: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The event the hub records when it finds the log shorter than its anchor.
pub const TRUNCATED_EVENT: &str = "audit_log_truncated";

/// The head of the chain: the `seq` of a line and the hex SHA-256 of its bytes (the next line's
/// `prev`). `seq` 0 with [`CHAIN_START`] is the empty log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditAnchor {
    /// The line's sequence number.
    pub seq: u64,
    /// The line's hash, lowercase hex.
    pub hash: String,
}

impl AuditAnchor {
    /// Compares the anchor with `head`, the last line of the log as opened: a problem when the
    /// log ends before the anchored line, or ends at it with a different line.
    pub fn check_head(&self, path: &Path, head: &AuditAnchor) -> Option<String> {
        if head.seq < self.seq {
            let what = if head.seq == 0 {
                "is empty or was deleted".to_owned()
            } else {
                format!("was cut after line {}", head.seq)
            };
            Some(format!(
                "audit log {} {what}, but line {} was written and anchored in the sealed store",
                path.display(),
                self.seq
            ))
        } else if head.seq == self.seq && head.hash != self.hash {
            Some(format!(
                "audit log {} ends at line {} but that is not the line anchored in the sealed \
                 store: the log was replaced",
                path.display(),
                self.seq
            ))
        } else {
            None
        }
    }
}

/// Bytes read at a time when scanning the file backwards.
const CHUNK: u64 = 8192;

/// One audited event. Only the fields that are `Some` appear in the line.
#[derive(Debug, Default, Serialize)]
pub struct AuditRecord<'a> {
    /// What happened, such as `hello`, `get_secret`, `grant`.
    pub event: &'a str,
    /// The peer's user id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
    /// The peer's process id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<i32>,
    /// The peer's executable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exe: Option<&'a str>,
    /// The API key's name (never the key itself).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<&'a str>,
    /// The client's self-declared name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client: Option<&'a str>,
    /// The scope concerned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<&'a str>,
    /// The secret path (or, for `repo_*` events, the repository path) concerned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<&'a str>,
    /// The store backend that served a secret access (`file`, or a `[store.backend.<name>]`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backend: Option<&'a str>,
    /// How it ended, such as `ok`, `denied`, `not_found`.
    pub outcome: &'a str,
    /// Anything else worth keeping; never a secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<&'a str>,
}

/// A line as written: sequence, time, the record's fields, link to the previous line.
#[derive(Serialize)]
struct Line<'r, 'a> {
    seq: u64,
    time: &'r str,
    #[serde(flatten)]
    record: &'r AuditRecord<'a>,
    prev: &'r str,
}

/// Why the audit log could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    /// Reading or writing the log failed.
    #[error("cannot access audit log {path}: {source}")]
    Io {
        /// The log file.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// The log's last line cannot continue the chain.
    #[error("audit log {path} is damaged: {reason}")]
    Corrupt {
        /// The log file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A record could not be encoded as JSON.
    #[error("cannot encode an audit record: {source}")]
    Encode {
        /// The underlying error.
        source: serde_json::Error,
    },
}

/// The open audit log. Shared by every connection (`Send + Sync`); appends are serialized.
#[derive(Debug)]
pub struct AuditLog {
    path: PathBuf,
    inner: Mutex<Inner>,
    /// The same open file as the writer's (a duplicated descriptor), to wait for the disk in
    /// [`flush`](Self::flush) without holding the lock every append takes.
    sync: File,
}

#[derive(Debug)]
struct Inner {
    writer: BufWriter<File>,
    /// Sequence number of the last line.
    seq: u64,
    /// Hash of the last line, hex.
    prev: String,
    /// The last line on disk as of the last flush.
    durable: AuditAnchor,
    /// Bytes of the file on disk as of the last flush.
    durable_len: u64,
    /// Bytes of the file once the buffer is written out.
    written_len: u64,
    /// Reused encoding buffer.
    line: Vec<u8>,
}

impl AuditLog {
    /// Opens the log at `path` for appending, creating it (0600) if needed, and recovers the last
    /// line's sequence number and hash. A torn last line (no trailing newline, left by a crash) is
    /// cut off and the cut made durable.
    ///
    /// # Errors
    /// [`AuditError::Io`] if the file cannot be opened, read or repaired;
    /// [`AuditError::Corrupt`] if the last complete line is not an audit record.
    pub fn open(path: &Path) -> Result<Self, AuditError> {
        let io_error = |source| AuditError::Io {
            path: path.to_owned(),
            source,
        };
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .mode(0o600)
            .open(path)
            .map_err(io_error)?;
        let mut end = file.metadata().map_err(io_error)?.len();
        if end > 0 && read_range(&file, end - 1, end).map_err(io_error)? != b"\n" {
            let cut = last_newline_before(&file, end)
                .map_err(io_error)?
                .map_or(0, |at| at + 1);
            file.set_len(cut).map_err(io_error)?;
            file.sync_all().map_err(io_error)?;
            tracing::warn!(log = %path.display(), removed = end - cut, "cut a torn line from the end of the audit log");
            end = cut;
        }
        let (seq, prev) = if end == 0 {
            (0, CHAIN_START.to_owned())
        } else {
            let start = last_newline_before(&file, end - 1)
                .map_err(io_error)?
                .map_or(0, |at| at + 1);
            let line = read_range(&file, start, end - 1).map_err(io_error)?;
            let seq = serde_json::from_slice::<serde_json::Value>(&line)
                .ok()
                .and_then(|value| value.get("seq").and_then(serde_json::Value::as_u64))
                .ok_or_else(|| AuditError::Corrupt {
                    path: path.to_owned(),
                    reason: "the last line is not an audit record with a \"seq\"".to_owned(),
                })?;
            (seq, hash_hex(&line))
        };
        // What a previous run left may not be on disk yet; the anchor only ever names what is.
        file.sync_data().map_err(io_error)?;
        let sync = file.try_clone().map_err(io_error)?;
        Ok(Self {
            path: path.to_owned(),
            sync,
            inner: Mutex::new(Inner {
                writer: BufWriter::new(file),
                durable: AuditAnchor {
                    seq,
                    hash: prev.clone(),
                },
                durable_len: end,
                written_len: end,
                seq,
                prev,
                line: Vec::with_capacity(512),
            }),
        })
    }

    /// The log file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn io_error(&self, source: io::Error) -> AuditError {
        AuditError::Io {
            path: self.path.clone(),
            source,
        }
    }

    /// Appends `record` as the next line of the chain, into the buffer; [`flush`](Self::flush)
    /// makes it durable.
    ///
    /// # Errors
    /// Encoding failed, or the buffer was full and writing it out failed.
    pub fn append(&self, record: &AuditRecord<'_>) -> Result<(), AuditError> {
        let time = Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true);
        let mut guard = self.lock();
        let inner = &mut *guard;
        let seq = inner.seq + 1;
        inner.line.clear();
        serde_json::to_writer(
            &mut inner.line,
            &Line {
                seq,
                time: &time,
                record,
                prev: &inner.prev,
            },
        )
        .map_err(|source| AuditError::Encode { source })?;
        let hash = hash_hex(&inner.line);
        inner.line.push(b'\n');
        inner
            .writer
            .write_all(&inner.line)
            .map_err(|e| self.io_error(e))?;
        inner.written_len += inner.line.len() as u64;
        inner.seq = seq;
        inner.prev = hash;
        Ok(())
    }

    /// The last line made durable by a flush (or found at open): what may be anchored.
    pub fn durable_head(&self) -> AuditAnchor {
        self.lock().durable.clone()
    }

    /// Checks, without reading the log, that the file at the log's path is still the file this
    /// hub writes and holds every line it made durable; a problem (deleted, replaced, cut short)
    /// as a sentence.
    pub fn check_file(&self) -> Option<String> {
        use std::os::unix::fs::MetadataExt;
        let inner = self.lock();
        let path = self.path.display();
        let on_disk = match std::fs::metadata(&self.path) {
            Ok(metadata) => metadata,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Some(format!("audit log {path} was deleted while the hub runs"))
            }
            Err(e) => return Some(format!("cannot inspect audit log {path}: {e}")),
        };
        let ours = match inner.writer.get_ref().metadata() {
            Ok(metadata) => metadata,
            Err(e) => return Some(format!("cannot inspect audit log {path}: {e}")),
        };
        if (on_disk.dev(), on_disk.ino()) != (ours.dev(), ours.ino()) {
            return Some(format!(
                "audit log {path} was replaced by another file while the hub runs"
            ));
        }
        if on_disk.len() < inner.durable_len {
            return Some(format!(
                "audit log {path} was cut short while the hub runs: {} bytes, {} were written",
                on_disk.len(),
                inner.durable_len
            ));
        }
        None
    }

    /// Writes out the buffer and waits until the data is on disk (`fdatasync`); the lines
    /// written before the call are then durable, and [`durable_head`](Self::durable_head) names
    /// the last of them (or a later line, made durable by a concurrent flush).
    ///
    /// Only the write to the file is done under the lock that appends take; the wait for the
    /// disk (milliseconds, tens of them on a busy disk) is not, so requests keep being answered
    /// and recorded meanwhile.
    ///
    /// # Errors
    /// Writing or syncing failed.
    pub fn flush(&self) -> Result<(), AuditError> {
        let (written, written_len) = {
            let mut inner = self.lock();
            inner.writer.flush().map_err(|e| self.io_error(e))?;
            let head = AuditAnchor {
                seq: inner.seq,
                hash: inner.prev.clone(),
            };
            (head, inner.written_len)
        };
        self.sync.sync_data().map_err(|e| self.io_error(e))?;
        let mut inner = self.lock();
        // Flushes may overlap: the durable head only moves forward.
        if written.seq > inner.durable.seq {
            inner.durable = written;
        }
        inner.durable_len = inner.durable_len.max(written_len);
        Ok(())
    }

    /// Flushes, then returns the last `limit` lines (all when `limit` is 0), oldest first.
    ///
    /// # Errors
    /// Flushing or reading failed.
    pub fn tail(&self, limit: usize) -> Result<Vec<String>, AuditError> {
        let (file, end) = {
            let mut inner = self.lock();
            flush_inner(&mut inner).map_err(|e| self.io_error(e))?;
            let file = inner.writer.get_ref();
            let end = file.metadata().map_err(|e| self.io_error(e))?.len();
            (file.try_clone().map_err(|e| self.io_error(e))?, end)
        };
        let bytes = read_tail(&file, end, limit).map_err(|e| self.io_error(e))?;
        let mut lines: Vec<String> = bytes
            .split(|byte| *byte == b'\n')
            .map(|line| String::from_utf8_lossy(line).into_owned())
            .collect();
        // The text ends with a newline, so the last piece is empty.
        lines.pop();
        if limit > 0 && lines.len() > limit {
            lines.drain(..lines.len() - limit);
        }
        Ok(lines)
    }

    /// Checks the log at `path`: every line parses, has `seq` equal to its line number and `prev`
    /// equal to the hash of the line before; every anchor in `anchors` names a line the log has,
    /// with that hash; and no line records that the log was found cut ([`TRUNCATED_EVENT`]).
    /// Reports the first problem as `line N: …`. A missing file is a log of 0 lines.
    ///
    /// # Errors
    /// Only if the file cannot be read; a problem is `ok: false`, not an error.
    pub fn verify(path: &Path, anchors: &[AuditAnchor]) -> Result<AuditVerification, AuditError> {
        let io_error = |source| AuditError::Io {
            path: path.to_owned(),
            source,
        };
        let anchored = anchors.iter().map(|a| a.seq).max().unwrap_or(0);
        let failed = |lines: u64, error: String| AuditVerification {
            ok: false,
            lines,
            error: Some(error),
            anchored,
        };
        let file = match File::open(path) {
            Ok(file) => Some(file),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(io_error(e)),
        };
        let mut prev = CHAIN_START.to_owned();
        let mut number = 0u64;
        let mut recorded_cut = None;
        if let Some(file) = file {
            let mut reader = BufReader::new(file);
            let mut line = Vec::new();
            loop {
                line.clear();
                if reader.read_until(b'\n', &mut line).map_err(io_error)? == 0 {
                    break;
                }
                number += 1;
                match check_line(&mut line, number, &prev) {
                    Err(problem) => return Ok(failed(number, format!("line {number}: {problem}"))),
                    Ok(Some(detail)) if recorded_cut.is_none() => {
                        recorded_cut = Some(format!(
                            "line {number}: the hub found the log cut short when it started ({detail})"
                        ));
                    }
                    Ok(_) => {}
                }
                prev = hash_hex(&line);
                if anchors.iter().any(|a| a.seq == number && a.hash != prev) {
                    return Ok(failed(
                        number,
                        format!(
                            "line {number}: not the line the hub wrote and anchored there: the log was replaced"
                        ),
                    ));
                }
            }
        }
        if number < anchored {
            let what = if number == 0 {
                "is empty or missing".to_owned()
            } else {
                format!("ends at line {number}")
            };
            return Ok(failed(
                number,
                format!(
                    "the log {what}, but line {anchored} was written and anchored: lines were cut from its end"
                ),
            ));
        }
        if let Some(error) = recorded_cut {
            return Ok(failed(number, error));
        }
        Ok(AuditVerification {
            ok: true,
            lines: number,
            error: None,
            anchored,
        })
    }
}

/// Checks one line (with its newline, which is removed) against its number and the previous hash.
/// Returns the line's detail when it is a [`TRUNCATED_EVENT`].
fn check_line(line: &mut Vec<u8>, number: u64, prev: &str) -> Result<Option<String>, String> {
    if line.pop() != Some(b'\n') {
        return Err("incomplete line (no trailing newline)".to_owned());
    }
    let value: serde_json::Value =
        serde_json::from_slice(line).map_err(|e| format!("not valid JSON: {e}"))?;
    let object = value
        .as_object()
        .ok_or_else(|| "not a JSON object".to_owned())?;
    match object.get("prev").and_then(serde_json::Value::as_str) {
        Some(found) if found == prev => {}
        Some(_) if number == 1 => {
            return Err(
                "prev is not the chain start (64 zeros): the beginning of the log was altered or removed"
                    .to_owned(),
            )
        }
        Some(_) => {
            return Err(format!(
                "prev does not match the hash of line {}: a line was altered, removed or reordered",
                number - 1
            ))
        }
        None => return Err("no \"prev\" field".to_owned()),
    }
    match object.get("seq").and_then(serde_json::Value::as_u64) {
        Some(seq) if seq == number => {}
        Some(seq) => return Err(format!("seq is {seq}, expected {number}")),
        None => return Err("no \"seq\" field".to_owned()),
    }
    if object.get("event").and_then(serde_json::Value::as_str) == Some(TRUNCATED_EVENT) {
        let detail = object.get("detail").and_then(serde_json::Value::as_str);
        return Ok(Some(detail.unwrap_or("no detail").to_owned()));
    }
    Ok(None)
}

fn flush_inner(inner: &mut Inner) -> io::Result<()> {
    inner.writer.flush()?;
    inner.writer.get_ref().sync_data()?;
    if inner.durable.seq != inner.seq {
        inner.durable = AuditAnchor {
            seq: inner.seq,
            hash: inner.prev.clone(),
        };
    }
    inner.durable_len = inner.written_len;
    Ok(())
}

fn hash_hex(bytes: &[u8]) -> String {
    // Written by hand: `hex::encode` collects char by char, a visible share of every append.
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut hex = String::with_capacity(64);
    for byte in Sha256::digest(bytes) {
        hex.push(char::from(DIGITS[usize::from(byte >> 4)]));
        hex.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    hex
}

/// Bytes `start..end` of `file`.
fn read_range(file: &File, start: u64, end: u64) -> io::Result<Vec<u8>> {
    let len = usize::try_from(end - start)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "line too long"))?;
    let mut buffer = vec![0u8; len];
    file.read_exact_at(&mut buffer, start)?;
    Ok(buffer)
}

/// Offset of the last `\n` before `end`, scanning backwards.
fn last_newline_before(file: &File, end: u64) -> io::Result<Option<u64>> {
    let mut chunk_end = end;
    while chunk_end > 0 {
        let chunk_start = chunk_end.saturating_sub(CHUNK);
        let chunk = read_range(file, chunk_start, chunk_end)?;
        if let Some(at) = chunk.iter().rposition(|byte| *byte == b'\n') {
            return Ok(Some(chunk_start + at as u64));
        }
        chunk_end = chunk_start;
    }
    Ok(None)
}

/// The end of `file` up to `end`, holding at least its last `limit` whole lines (all if 0).
fn read_tail(file: &File, end: u64, limit: usize) -> io::Result<Vec<u8>> {
    if limit == 0 {
        return read_range(file, 0, end);
    }
    let mut chunks = Vec::new();
    let mut newlines = 0usize;
    let mut chunk_end = end;
    while chunk_end > 0 {
        let chunk_start = chunk_end.saturating_sub(CHUNK);
        let chunk = read_range(file, chunk_start, chunk_end)?;
        newlines += chunk.iter().filter(|byte| **byte == b'\n').count();
        chunks.push(chunk);
        chunk_end = chunk_start;
        // `limit` lines end in `limit` newlines; one more marks where the first of them starts.
        if newlines > limit {
            break;
        }
    }
    Ok(chunks.into_iter().rev().flatten().collect())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::fs;
    use std::os::unix::fs::PermissionsExt;
    use std::sync::Arc;
    use std::thread;

    use super::*;

    fn record<'a>(event: &'a str, path: Option<&'a str>) -> AuditRecord<'a> {
        AuditRecord {
            event,
            uid: Some(1000),
            pid: Some(4242),
            exe: Some("/usr/bin/hyperforge"),
            key: Some("laptop"),
            path,
            outcome: "ok",
            ..AuditRecord::default()
        }
    }

    fn write_log(path: &Path, count: usize) {
        let log = AuditLog::open(path).unwrap();
        for i in 0..count {
            let secret_path = format!("github/org{i}/token");
            log.append(&record("get_secret", Some(&secret_path)))
                .unwrap();
        }
        log.flush().unwrap();
    }

    fn lines(path: &Path) -> Vec<String> {
        fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    fn write_lines(path: &Path, lines: &[String]) {
        let mut text = lines.join("\n");
        text.push('\n');
        fs::write(path, text).unwrap();
    }

    fn failing_line(path: &Path) -> u64 {
        let verification = AuditLog::verify(path, &[]).unwrap();
        assert!(!verification.ok);
        let error = verification.error.unwrap();
        let number = error
            .strip_prefix("line ")
            .and_then(|rest| rest.split(':').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no line number in {error:?}"));
        assert_eq!(number, verification.lines);
        number
    }

    #[test]
    fn line_format_and_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.log");
        let log = AuditLog::open(&path).unwrap();
        log.append(&AuditRecord {
            event: "hello",
            uid: Some(1000),
            client: Some("cli \"quoted\"\nnewline"),
            outcome: "ok",
            ..AuditRecord::default()
        })
        .unwrap();
        log.append(&record("get_secret", Some("a/b"))).unwrap();
        log.flush().unwrap();
        let lines = lines(&path);
        assert_eq!(lines.len(), 2);
        let first = &lines[0];
        assert!(first.starts_with("{\"seq\":1,\"time\":\""), "{first}");
        assert!(first.contains("Z\",\"event\":\"hello\",\"uid\":1000,\"client\":"));
        assert!(first.ends_with(&format!("\"outcome\":\"ok\",\"prev\":\"{CHAIN_START}\"}}")));
        assert!(!first.contains("\"pid\""), "None fields are left out");
        let time = first.split("\"time\":\"").nth(1).unwrap();
        assert_eq!(time.find('Z'), Some(23), "millisecond precision: {time}");
        assert!(lines[1].ends_with(&format!("\"prev\":\"{}\"}}", hash_hex(first.as_bytes()))));
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let verification = AuditLog::verify(&path, &[]).unwrap();
        assert_eq!(
            verification,
            AuditVerification {
                ok: true,
                lines: 2,
                error: None,
                anchored: 0,
            }
        );
    }

    #[test]
    fn editing_any_byte_is_detected() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.log");
        write_log(&path, 5);
        let original = lines(&path);
        let edited_path = dir.path().join("edited.log");
        // Every byte of every line but the last: the next line's link catches it, if the line
        // itself does not already fail to parse.
        for (index, line) in original.iter().enumerate().take(original.len() - 1) {
            let number = index as u64 + 1;
            for at in 0..line.len() {
                let mut bytes = line.clone().into_bytes();
                bytes[at] = if bytes[at] == b'x' { b'y' } else { b'x' };
                let mut edited = original.clone();
                edited[index] = String::from_utf8(bytes).unwrap();
                write_lines(&edited_path, &edited);
                let failing = failing_line(&edited_path);
                assert!(
                    failing == number || failing == number + 1,
                    "edit of line {number} byte {at} reported at line {failing}"
                );
            }
        }
        // The last line's own fields are still checked.
        let mut edited = original.clone();
        edited[4] = edited[4].replacen("\"seq\":5", "\"seq\":6", 1);
        write_lines(&edited_path, &edited);
        assert_eq!(failing_line(&edited_path), 5);
    }

    #[test]
    fn deleting_or_reordering_is_detected() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.log");
        write_log(&path, 5);
        let original = lines(&path);
        let edited_path = dir.path().join("edited.log");

        let mut deleted = original.clone();
        deleted.remove(2);
        write_lines(&edited_path, &deleted);
        assert_eq!(failing_line(&edited_path), 3);

        let mut first_gone = original.clone();
        first_gone.remove(0);
        write_lines(&edited_path, &first_gone);
        assert_eq!(failing_line(&edited_path), 1);
        let error = AuditLog::verify(&edited_path, &[]).unwrap().error.unwrap();
        assert!(error.contains("chain start"), "{error}");

        let mut swapped = original.clone();
        swapped.swap(1, 3);
        write_lines(&edited_path, &swapped);
        assert_eq!(failing_line(&edited_path), 2);

        let mut garbage = original.clone();
        garbage.insert(3, "not json".to_owned());
        write_lines(&edited_path, &garbage);
        assert_eq!(failing_line(&edited_path), 4);
        let error = AuditLog::verify(&edited_path, &[]).unwrap().error.unwrap();
        assert!(error.starts_with("line 4: not valid JSON"), "{error}");
    }

    #[test]
    fn reopen_continues_the_chain() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.log");
        write_log(&path, 3);
        write_log(&path, 2);
        let verification = AuditLog::verify(&path, &[]).unwrap();
        assert!(verification.ok, "{verification:?}");
        assert_eq!(verification.lines, 5);
        assert!(lines(&path)[4].starts_with("{\"seq\":5,"));
    }

    #[test]
    fn torn_tail_is_repaired() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.log");
        write_log(&path, 3);
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(b"{\"seq\":4,\"time\":\"2025-").unwrap();
        drop(file);
        assert_eq!(failing_line(&path), 4);
        let log = AuditLog::open(&path).unwrap();
        assert_eq!(lines(&path).len(), 3);
        log.append(&record("put_secret", Some("a/b"))).unwrap();
        assert_eq!(log.tail(0).unwrap().len(), 4);
        let verification = AuditLog::verify(&path, &[]).unwrap();
        assert!(verification.ok, "{verification:?}");
        assert_eq!(verification.lines, 4);

        // A file that is nothing but a torn line becomes empty, and starts the chain again.
        fs::write(&path, b"{\"seq\":1,").unwrap();
        let log = AuditLog::open(&path).unwrap();
        log.append(&record("hello", None)).unwrap();
        log.flush().unwrap();
        assert!(AuditLog::verify(&path, &[]).unwrap().ok);
    }

    #[test]
    fn unusable_last_line_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.log");
        fs::write(&path, b"hello world\n").unwrap();
        assert!(matches!(
            AuditLog::open(&path),
            Err(AuditError::Corrupt { .. })
        ));
    }

    #[test]
    fn tail_returns_the_last_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.log");
        let log = AuditLog::open(&path).unwrap();
        assert!(log.tail(5).unwrap().is_empty());
        // Long enough to span several read chunks.
        let detail = "d".repeat(700);
        for i in 0..100 {
            let event = format!("event{i}");
            log.append(&AuditRecord {
                event: &event,
                detail: Some(&detail),
                outcome: "ok",
                ..AuditRecord::default()
            })
            .unwrap();
        }
        let last = log.tail(3).unwrap();
        assert_eq!(last.len(), 3);
        assert!(last[0].contains("\"event97\""));
        assert!(last[2].contains("\"event99\""));
        assert!(last[2].starts_with("{\"seq\":100,"));
        assert_eq!(log.tail(0).unwrap().len(), 100);
        assert_eq!(log.tail(1000).unwrap().len(), 100);
        assert_eq!(log.tail(12).unwrap().len(), 12);
    }

    #[test]
    fn concurrent_appends_keep_the_chain() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.log");
        let log = Arc::new(AuditLog::open(&path).unwrap());
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let log = Arc::clone(&log);
                thread::spawn(move || {
                    for i in 0..200 {
                        let p = format!("t{t}/s{i}");
                        log.append(&record("get_secret", Some(&p))).unwrap();
                        if i == 50 || i == 150 {
                            log.flush().unwrap();
                        }
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        log.flush().unwrap();
        let verification = AuditLog::verify(&path, &[]).unwrap();
        assert!(verification.ok, "{verification:?}");
        assert_eq!(verification.lines, 1600);
    }

    #[test]
    fn only_flushed_lines_are_the_durable_head() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let log = AuditLog::open(&path).unwrap();
        assert_eq!(
            log.durable_head(),
            AuditAnchor {
                seq: 0,
                hash: CHAIN_START.to_owned()
            }
        );
        log.append(&record("get_secret", None)).unwrap();
        assert_eq!(log.durable_head().seq, 0, "buffered, not durable");
        log.flush().unwrap();
        let head = log.durable_head();
        assert_eq!(head.seq, 1);
        assert_eq!(head.hash, hash_hex(lines(&path)[0].as_bytes()));
        drop(log);
        assert_eq!(AuditLog::open(&path).unwrap().durable_head(), head);
    }

    #[test]
    fn a_log_cut_below_its_anchor_fails_verification() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        write_log(&path, 5);
        let anchor = AuditLog::open(&path).unwrap().durable_head();
        assert_eq!(anchor.seq, 5);
        let whole = AuditLog::verify(&path, std::slice::from_ref(&anchor)).unwrap();
        assert!(whole.ok, "{whole:?}");
        assert_eq!(whole.anchored, 5);

        // Lines cut from the end keep a sound chain; only the anchor tells.
        let all = lines(&path);
        write_lines(&path, &all[..3]);
        assert!(AuditLog::verify(&path, &[]).unwrap().ok);
        let cut = AuditLog::verify(&path, std::slice::from_ref(&anchor)).unwrap();
        assert!(!cut.ok);
        assert_eq!(cut.lines, 3);
        let error = cut.error.unwrap();
        assert!(error.contains("ends at line 3"), "{error}");
        assert!(error.contains("line 5 was written and anchored"), "{error}");
        let head = AuditLog::open(&path).unwrap().durable_head();
        let problem = anchor.check_head(&path, &head).unwrap();
        assert!(problem.contains("was cut after line 3"), "{problem}");

        fs::remove_file(&path).unwrap();
        let missing = AuditLog::verify(&path, std::slice::from_ref(&anchor)).unwrap();
        assert!(!missing.ok);
        assert!(
            missing.error.unwrap().contains("is empty or missing"),
            "deleted"
        );
        let head = AuditLog::open(&path).unwrap().durable_head();
        let problem = anchor.check_head(&path, &head).unwrap();
        assert!(problem.contains("is empty or was deleted"), "{problem}");

        // A new log as long as the old one is not the anchored log either.
        write_log(&path, 6);
        let replaced = AuditLog::verify(&path, &[anchor]).unwrap();
        assert!(!replaced.ok);
        assert!(replaced.error.unwrap().starts_with("line 5: not the line"));
    }

    #[test]
    fn a_recorded_cut_keeps_failing_verification() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        write_log(&path, 2);
        let log = AuditLog::open(&path).unwrap();
        log.append(&AuditRecord {
            event: TRUNCATED_EVENT,
            outcome: "warning",
            detail: Some("audit log was cut after line 2"),
            ..AuditRecord::default()
        })
        .unwrap();
        log.append(&record("get_secret", None)).unwrap();
        log.flush().unwrap();
        let verification = AuditLog::verify(&path, &[log.durable_head()]).unwrap();
        assert!(!verification.ok);
        assert_eq!(verification.lines, 4, "the whole chain is checked");
        let error = verification.error.unwrap();
        assert!(
            error.starts_with("line 3: the hub found the log cut short"),
            "{error}"
        );
        assert!(error.contains("cut after line 2"), "{error}");
    }

    #[test]
    fn the_live_file_is_checked_against_what_was_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let log = AuditLog::open(&path).unwrap();
        log.append(&record("get_secret", None)).unwrap();
        log.append(&record("get_secret", None)).unwrap();
        log.flush().unwrap();
        assert_eq!(log.check_file(), None);
        let all = lines(&path);
        write_lines(&path, &all[..1]);
        assert!(log.check_file().unwrap().contains("cut short"));
        fs::remove_file(&path).unwrap();
        assert!(log.check_file().unwrap().contains("was deleted"));
        write_lines(&path, &all);
        assert!(log.check_file().unwrap().contains("replaced"));
    }
}
