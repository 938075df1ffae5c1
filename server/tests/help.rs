//! `chat-server --help`, from the real binary: it names the variables that
//! set each option but never prints a secret taken from them.

use std::process::Command;

#[test]
fn help_prints_no_secret_from_the_environment() {
    let secrets = [
        ("CHAT_JOIN_CODE", "joincodexyzzy42"),
        ("CHAT_ADMIN_TOKEN", "admintokenxyzzy0123456789"),
        (
            "CHAT_DATABASE",
            "postgres://chat:dbpasswordxyzzy@db.example/chat",
        ),
        (
            "CHAT_REDIS_URL",
            "redis://:redispasswordxyzzy@redis.example",
        ),
    ];
    let mut command = Command::new(env!("CARGO_BIN_EXE_chat-server"));
    command.arg("--help");
    for (variable, value) in secrets {
        command.env(variable, value);
    }
    let output = command.output().expect("run chat-server --help");
    assert!(output.status.success(), "{output:?}");
    let help = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    for (variable, _) in secrets {
        assert!(help.contains(variable), "--help should name {variable}");
    }
    // Every value holds the word, so no part of any of them may show.
    assert!(
        !help.contains("xyzzy"),
        "--help printed a secret from the environment:\n{help}"
    );
}
