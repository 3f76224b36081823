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
    /// `anchored` is the head the store last sealed, if any: a log that ends exactly there was
    /// durable when it was sealed, so opening it does not wait for the disk. Any other log is
    /// synced first, since what a previous run wrote may not be on disk yet.
    ///
    /// # Errors
    /// [`AuditError::Io`] if the file cannot be opened, read or repaired;
    /// [`AuditError::Corrupt`] if the last complete line is not an audit record.
    pub fn open(path: &Path, anchored: Option<&AuditAnchor>) -> Result<Self, AuditError> {
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
        let head = AuditAnchor {
            seq,
            hash: prev.clone(),
        };
        // What a previous run left may not be on disk yet (it crashed between a write and its
        // flush); the anchor only ever names what is. A sync is a cache flush of the disk even
        // when nothing is dirty, milliseconds on the way to listening: skipped when the store's
        // anchor already names this head, as after every clean stop.
        if anchored != Some(&head) {
            file.sync_data().map_err(io_error)?;
        }
        let sync = file.try_clone().map_err(io_error)?;
        Ok(Self {
            path: path.to_owned(),
            sync,
            inner: Mutex::new(Inner {
                writer: BufWriter::new(file),
                durable: head,
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

    /// True when every line appended so far is durable: [`flush`](Self::flush) has nothing to do.
    pub fn is_flushed(&self) -> bool {
        self.lock().is_flushed()
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
    /// and recorded meanwhile. With nothing appended since the last flush finished, it returns
    /// at once: an idle hub does not flush the disk's cache.
    ///
    /// # Errors
    /// Writing or syncing failed.
    pub fn flush(&self) -> Result<(), AuditError> {
        let (written, written_len) = {
            let mut inner = self.lock();
            if inner.is_flushed() {
                return Ok(());
            }
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

impl Inner {
    /// Nothing appended since the last flush finished.
    fn is_flushed(&self) -> bool {
        self.written_len == self.durable_len
    }
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
mod tests;
