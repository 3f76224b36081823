//! Logs are plain text: no ANSI escape sequences when stderr is a file or a pipe (log files and
//! the journal), and no Rust `Debug` shapes such as `pid=Some(42)` in the lines.

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::time::Duration;

use auth_hub_tests::{wait_until, TestHub};

/// Fails with the offending text if `text` holds an escape byte or a `Debug`-rendered option.
fn assert_plain(what: &str, text: &str) {
    assert!(
        !text.contains('\u{1b}'),
        "{what} holds an ANSI escape sequence:\n{text}"
    );
    assert!(
        !text.contains("Some(") && !text.contains("None"),
        "{what} holds a Debug-rendered Option:\n{text}"
    );
}

#[test]
fn hub_log_file_and_cli_stderr_are_plain_text() {
    let hub = TestHub::start("[server]\nhello_timeout = \"300ms\"\n");
    let owner = hub.login();
    hub.run(&["auth", "put", "logs/alpha"], Some("value"))
        .assert_code(0);
    hub.run(&["auth", "grant", "logs/*"], None).assert_code(0);
    hub.run(&["auth", "get", "logs/alpha"], None).assert_code(0);
    // A refused hello and a connection whose hello never comes are both logged with the peer.
    let mut wrong = owner.clone();
    let last = if wrong.ends_with('2') { '3' } else { '2' };
    wrong.pop();
    wrong.push(last);
    hub.run_as(Some(&wrong), &["auth", "status"], None);
    let mut silent = UnixStream::connect(hub.socket()).unwrap();
    silent.write_all(&[0, 0]).unwrap();
    let logged = wait_until(Duration::from_secs(10), || {
        let log = hub.log();
        (log.contains("invalid master token") && log.contains("no hello in time")).then_some(log)
    })
    .unwrap_or_else(|| panic!("the hub did not log the refusals:\n{}", hub.log()));
    assert!(logged.contains("pid="), "{logged}");
    assert_plain("the hub's log file", &logged);

    // The CLI's own tracing on a piped stderr, including the client library's hello line.
    let run = hub
        .hyperforge()
        .args(["-vv", "auth", "get", "logs/alpha"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("connected to auth-hub"), "{stderr}");
    assert!(stderr.contains("key="), "{stderr}");
    assert_plain("hyperforge's stderr", &stderr);
}
