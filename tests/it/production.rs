//! P18: the `production` profile refuses to start on a missing, short or placeholder secret —
//! JWT, payment webhook or Telegram webhook — naming the setting and never its value; `dev`
//! only warns. `souk token` loads and checks the settings without needing a database.

use std::process::{Command, Output};

const SECRETS: [&str; 3] = [
    "SOUK__AUTH__JWT_SECRET",
    "SOUK__PAYMENTS__WEBHOOK_SECRET",
    "SOUK__TELEGRAM__WEBHOOK_SECRET",
];

fn good(i: usize) -> String {
    format!("{i}f3a9c1e5b7d2048e6a1c3b5d7f9e0a2c4b6d8f1e3a5c7b9d0f2e4a6c8b1d3f5")
}

/// `souk token` with `profile`, every secret good except the ones `overrides` sets or unsets.
fn souk_token(profile: &str, overrides: &[(&str, Option<&str>)]) -> Output {
    let dir = std::env::temp_dir().join(format!("souk-production-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_souk"));
    cmd.args(["token", "--user", "1", "--role", "admin"])
        .current_dir(&dir)
        .env("SOUK__PROFILE", profile)
        .env("SOUK__DATABASE__URL", "postgres://souk@127.0.0.1:1/souk")
        .env("RUST_LOG", "warn");
    for (i, name) in SECRETS.iter().enumerate() {
        cmd.env(name, good(i));
    }
    for (name, value) in overrides {
        match value {
            Some(v) => cmd.env(name, v),
            None => cmd.env_remove(name),
        };
    }
    cmd.output().expect("souk runs")
}

#[test]
fn production_starts_with_three_strong_secrets() {
    let out = souk_token("production", &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn production_refuses_each_missing_short_or_placeholder_secret_by_name() {
    for setting in SECRETS {
        for (bad, problem) in [
            (None, "missing"),
            (Some("too-short-1234"), "shorter than 32 bytes"),
            (
                Some("change-me-change-me-change-me-change-me"),
                "placeholder",
            ),
            (Some("your-webhook-secret"), "placeholder"),
        ] {
            let out = souk_token("production", &[(setting, bad)]);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(!out.status.success(), "{setting}={bad:?} was accepted");
            assert!(stderr.contains(setting), "{setting}={bad:?}: {stderr}");
            assert!(stderr.contains(problem), "{setting}={bad:?}: {stderr}");
            if let Some(value) = bad {
                assert!(
                    !stderr.contains(value),
                    "the value itself is printed: {stderr}"
                );
            }
        }
    }
}

#[test]
fn dev_warns_about_a_placeholder_secret_by_name_and_starts() {
    let placeholder = "change-me-change-me-change-me-change-me";
    let out = souk_token(
        "dev",
        &[("SOUK__TELEGRAM__WEBHOOK_SECRET", Some(placeholder))],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("SOUK__TELEGRAM__WEBHOOK_SECRET"),
        "{stderr}"
    );
    assert!(stderr.contains("WARN"), "{stderr}");
    assert!(!stderr.contains(placeholder), "{stderr}");
}
