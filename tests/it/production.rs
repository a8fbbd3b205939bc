//! P18: the `production` profile refuses to start on a missing, short, placeholder or
//! low-entropy secret — JWT, payment webhook or Telegram webhook — or on one value used for
//! two of them, naming the settings and never the value; `dev` only warns. `souk token`
//! loads and checks the settings without needing a database.

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

/// Output of `openssl rand -hex 32`, or a stand-in of the same shape without `openssl`.
fn openssl_rand_hex_32() -> String {
    Command::new("openssl")
        .args(["rand", "-hex", "32"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| {
            use rand::Rng;
            let bytes: [u8; 32] = rand::rng().random();
            bytes.iter().map(|b| format!("{b:02x}")).collect()
        })
}

#[test]
fn production_refuses_each_low_entropy_secret_by_name() {
    let weak = [
        (" ".repeat(32), "blank"),
        ("a".repeat(32), "fewer than 10 distinct"),
        ("ab".repeat(20), "fewer than 10 distinct"),
        (format!("{}0123456789", "a".repeat(24)), "more than a third"),
        ("0123456789abcdef".repeat(2), "repeats a shorter"),
        ("Kx9-Qm2_Zt7".repeat(4), "repeats a shorter"),
    ];
    for setting in SECRETS {
        for (bad, problem) in &weak {
            let out = souk_token("production", &[(setting, Some(bad))]);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(!out.status.success(), "{setting}={bad:?} was accepted");
            assert!(stderr.contains(setting), "{setting}={bad:?}: {stderr}");
            assert!(stderr.contains(problem), "{setting}={bad:?}: {stderr}");
            let shown = !bad.trim().is_empty() && stderr.contains(bad.as_str());
            assert!(!shown, "the value itself is printed: {stderr}");
        }
    }
}

#[test]
fn production_refuses_one_value_for_two_secrets_naming_both() {
    let shared = openssl_rand_hex_32();
    for (a, b) in [(0, 1), (0, 2), (1, 2)] {
        let out = souk_token(
            "production",
            &[(SECRETS[a], Some(&shared)), (SECRETS[b], Some(&shared))],
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success(),
            "{} = {} was accepted",
            SECRETS[a],
            SECRETS[b]
        );
        assert!(
            stderr.contains(SECRETS[a]) && stderr.contains(SECRETS[b]),
            "{stderr}"
        );
        assert!(stderr.contains("same value"), "{stderr}");
        assert!(
            !stderr.contains(&shared),
            "the value itself is printed: {stderr}"
        );
    }
}

#[test]
fn production_starts_with_three_fresh_openssl_rand_hex_32_secrets() {
    for _ in 0..3 {
        let secrets: Vec<String> = SECRETS.iter().map(|_| openssl_rand_hex_32()).collect();
        let overrides: Vec<_> = SECRETS
            .iter()
            .zip(&secrets)
            .map(|(name, value)| (*name, Some(value.as_str())))
            .collect();
        let out = souk_token("production", &overrides);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
