//! The audit log's tests: the chain, its verification, recovery after a crash, anchors.

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
    let log = AuditLog::open(path, None).unwrap();
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
    let log = AuditLog::open(&path, None).unwrap();
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
    let log = AuditLog::open(&path, None).unwrap();
    assert_eq!(lines(&path).len(), 3);
    log.append(&record("put_secret", Some("a/b"))).unwrap();
    assert_eq!(log.tail(0).unwrap().len(), 4);
    let verification = AuditLog::verify(&path, &[]).unwrap();
    assert!(verification.ok, "{verification:?}");
    assert_eq!(verification.lines, 4);

    // A file that is nothing but a torn line becomes empty, and starts the chain again.
    fs::write(&path, b"{\"seq\":1,").unwrap();
    let log = AuditLog::open(&path, None).unwrap();
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
        AuditLog::open(&path, None),
        Err(AuditError::Corrupt { .. })
    ));
}

#[test]
fn tail_returns_the_last_lines() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let log = AuditLog::open(&path, None).unwrap();
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
    let log = Arc::new(AuditLog::open(&path, None).unwrap());
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
    let log = AuditLog::open(&path, None).unwrap();
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
    assert_eq!(AuditLog::open(&path, None).unwrap().durable_head(), head);
}

#[test]
fn a_flush_with_nothing_new_is_a_no_op_and_reopening_at_the_anchor_keeps_the_head() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let log = AuditLog::open(&path, None).unwrap();
    assert!(log.is_flushed(), "an empty log has nothing to flush");
    log.append(&record("get_secret", None)).unwrap();
    assert!(!log.is_flushed());
    log.flush().unwrap();
    assert!(log.is_flushed());
    let head = log.durable_head();
    log.flush().unwrap();
    assert_eq!(log.durable_head(), head, "an idle flush changes nothing");
    drop(log);
    // Opened at the store's anchor (no wait for the disk) or without one: the same log.
    let anchored = AuditLog::open(&path, Some(&head)).unwrap();
    assert_eq!(anchored.durable_head(), head);
    assert!(anchored.is_flushed());
    anchored.append(&record("put_secret", None)).unwrap();
    anchored.flush().unwrap();
    drop(anchored);
    let verification = AuditLog::verify(&path, &[]).unwrap();
    assert!(
        verification.ok && verification.lines == 2,
        "{verification:?}"
    );
}

#[test]
fn a_log_cut_below_its_anchor_fails_verification() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    write_log(&path, 5);
    let anchor = AuditLog::open(&path, None).unwrap().durable_head();
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
    let head = AuditLog::open(&path, None).unwrap().durable_head();
    let problem = anchor.check_head(&path, &head).unwrap();
    assert!(problem.contains("was cut after line 3"), "{problem}");

    fs::remove_file(&path).unwrap();
    let missing = AuditLog::verify(&path, std::slice::from_ref(&anchor)).unwrap();
    assert!(!missing.ok);
    assert!(
        missing.error.unwrap().contains("is empty or missing"),
        "deleted"
    );
    let head = AuditLog::open(&path, None).unwrap().durable_head();
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
    let log = AuditLog::open(&path, None).unwrap();
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
    let log = AuditLog::open(&path, None).unwrap();
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
