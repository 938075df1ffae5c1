//! The systemd unit in `deploy/` is one systemd accepts, and keeps its
//! sandboxing: checked with `systemd-analyze verify` where it exists.

use std::path::Path;
use std::process::Command;

const UNIT: &str = include_str!("../../deploy/chat.service");
const OPERATIONS: &str = include_str!("../../docs/operations.md");
/// Where the unit expects the binary; verify wants it to exist.
const INSTALLED_BINARY: &str = "/usr/local/bin/chat-server";

#[test]
fn the_unit_keeps_its_sandboxing() {
    for line in [
        "DynamicUser=yes",
        "StateDirectory=chat",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "PrivateTmp=yes",
        "NoNewPrivileges=yes",
        "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
        "ExecReload=/bin/kill -HUP $MAINPID",
    ] {
        assert!(UNIT.lines().any(|l| l.trim() == line), "missing {line}");
    }
    assert!(UNIT.contains("--db /var/lib/chat/chat.db"));
}

#[test]
fn systemd_analyze_verify_accepts_the_unit() {
    let analyze = Path::new("/usr/bin/systemd-analyze");
    if !analyze.exists() {
        eprintln!("no systemd-analyze here: the unit was not verified");
        return;
    }
    assert!(UNIT.contains(INSTALLED_BINARY));
    let dir = std::env::temp_dir().join(format!("chat-unit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch folder");
    let unit = dir.join("chat.service");
    let here = UNIT.replace(INSTALLED_BINARY, env!("CARGO_BIN_EXE_chat-server"));
    std::fs::write(&unit, here).expect("write the unit");
    let output = Command::new(analyze)
        .arg("verify")
        .arg(&unit)
        .output()
        .expect("run systemd-analyze");
    let said = String::from_utf8_lossy(&output.stderr).into_owned()
        + &String::from_utf8_lossy(&output.stdout);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(output.status.success(), "{said}");
    // An unknown key or a bad value is only a warning ("…, ignoring"), and
    // a sandboxing line systemd ignores is no sandboxing: none may appear.
    assert!(!said.contains("chat.service"), "{said}");
}

#[test]
fn the_unit_in_the_operations_guide_is_the_file() {
    assert!(
        OPERATIONS.contains(UNIT),
        "docs/operations.md should quote deploy/chat.service as it is"
    );
}

#[test]
fn the_unit_allows_the_file_descriptors_the_default_maxima_need() {
    let limits = chat_server::limits::Limits::default();
    // Every connection is a file descriptor; the database, the logs and
    // the listeners take a few dozen more.
    let needed = limits.max_connections + limits.max_http_connections + 64;
    let allowed: usize = UNIT
        .lines()
        .find_map(|line| line.trim().strip_prefix("LimitNOFILE="))
        .expect("the unit sets LimitNOFILE")
        .parse()
        .expect("a number");
    assert!(allowed >= needed, "LimitNOFILE={allowed}, needs {needed}");
}
