//! `ksops check [DIR]`: runs the guardrails and prints the report, for people (default) or for
//! tools (`--format json`).
//!
//! Exit codes: 0 no findings, 1 findings (the report is on standard output), 2 the check could
//! not run (bad usage, unreadable directory, invalid `.ksops-check.yaml`).
//!
//! The JSON report is one object, stable across releases (new fields may be added):
//! `{"version": 1, "root": DIR as given, "findings": [{"rule", "file", "line" (null when
//! unknown), "message", "fix"}], "allowed": N, "checked": {"files", "kustomizations",
//! "generators", "encrypted", "decrypted"}}`. Every path in a report, in `file` and in the
//! texts, is relative to the checked directory.

use std::path::Path;

use crate::check::{CheckOptions, Finding, Report, SETTINGS_FILE, check};
use crate::cli::args::{CheckArgs, ReportFormat};
use crate::cli::error::CliError;
use crate::cli::io::write_stdout;
use crate::sops::Keyring;
use crate::sops::emit_json;
use crate::sops::{Mapping, Value};

/// Runs `ksops check`: prints the report, and fails with [`CliError::Findings`] when there is
/// anything in it.
pub fn run(args: &CheckArgs) -> Result<(), CliError> {
    let keyring = args
        .decrypt
        .then(|| Keyring::load(&crate::cli::env::identity_sources()));
    let options = CheckOptions {
        host: args.host,
        root_policy: args.root_policy,
        keyring: keyring.as_ref(),
    };
    let report = check(&args.dir, &options)?;
    let output = match args.format {
        ReportFormat::Human => human(&report, &args.dir, args.decrypt),
        ReportFormat::Json => json_report(&report, &args.dir)?,
    };
    write_stdout(&output)?;
    match report.findings.len() {
        0 => Ok(()),
        count => Err(CliError::Findings(count)),
    }
}

/// `file:line: rule: message`, then the fix, then a summary line.
fn human(report: &Report, dir: &Path, decrypted: bool) -> Vec<u8> {
    let mut out = String::new();
    for finding in &report.findings {
        let place = match finding.line {
            Some(line) => format!("{}:{line}", finding.file),
            None => finding.file.clone(),
        };
        let message = finding.message.replace('\n', "\n    ");
        out.push_str(&format!("{place}: {}: {message}\n", finding.rule));
        out.push_str(&format!("    fix: {}\n", finding.fix));
    }
    let stats = &report.stats;
    let mut checked = format!(
        "checked {} file(s), {} kustomization(s), {} ksops generator(s), {} encrypted file(s)",
        stats.files, stats.kustomizations, stats.generators, stats.encrypted
    );
    if decrypted {
        checked.push_str(&format!(", {} decrypted", stats.decrypted));
    }
    if report.allowed > 0 {
        checked.push_str(&format!(
            "; {} finding(s) allowed by {SETTINGS_FILE}",
            report.allowed
        ));
    }
    // Paths in the report are relative to the checked directory; say which it was.
    let place = if dir == Path::new(".") {
        String::new()
    } else {
        format!(" in {}", dir.display())
    };
    if report.findings.is_empty() {
        out.push_str(&format!("ksops check: no findings{place} ({checked})\n"));
    } else {
        let files: std::collections::BTreeSet<&str> =
            report.findings.iter().map(|f| f.file.as_str()).collect();
        out.push_str(&format!(
            "\nksops check: {} finding(s) in {} file(s){place} ({checked})\n",
            report.findings.len(),
            files.len()
        ));
    }
    out.into_bytes()
}

/// The JSON report (schema in the module documentation).
fn json_report(report: &Report, dir: &Path) -> Result<Vec<u8>, CliError> {
    let number = |n: usize| Value::Int(i64::try_from(n).unwrap_or(i64::MAX));
    let finding = |f: &Finding| {
        let mut m = Mapping::new();
        m.push("rule", Value::str(f.rule.id()));
        m.push("file", Value::str(&f.file));
        m.push("line", f.line.map_or(Value::Null, number));
        m.push("message", Value::str(&f.message));
        m.push("fix", Value::str(&f.fix));
        Value::Mapping(m)
    };
    let stats = &report.stats;
    let mut checked = Mapping::new();
    for (name, count) in [
        ("files", stats.files),
        ("kustomizations", stats.kustomizations),
        ("generators", stats.generators),
        ("encrypted", stats.encrypted),
        ("decrypted", stats.decrypted),
    ] {
        checked.push(name, number(count));
    }
    let mut doc = Mapping::new();
    doc.push("version", Value::Int(1));
    doc.push("root", Value::str(dir.display().to_string()));
    doc.push(
        "findings",
        Value::Sequence(report.findings.iter().map(finding).collect()),
    );
    doc.push("allowed", number(report.allowed));
    doc.push("checked", Value::Mapping(checked));
    emit_json(&[doc], Some(2)).map_err(|e| CliError::Write(std::io::Error::other(e)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::{Rule, Stats};
    use crate::sops::parse_json;

    fn report() -> Report {
        Report {
            findings: vec![Finding {
                rule: Rule::MissingFile,
                file: "gen.yaml".into(),
                line: Some(7),
                message: "generator `x` files[0] (`a.yaml`): \"a.yaml\": file not found".into(),
                fix: "add the file".into(),
            }],
            allowed: 1,
            stats: Stats {
                files: 3,
                ..Stats::default()
            },
        }
    }

    #[test]
    fn human_blocks_name_the_place_rule_and_fix() {
        let text = String::from_utf8(human(&report(), Path::new("app"), false)).unwrap();
        assert!(text.starts_with(
            "gen.yaml:7: missing-file: generator `x` files[0] (`a.yaml`): \"a.yaml\": file not found\n    fix: add the file\n"
        ));
        assert!(text.contains("1 finding(s) in 1 file(s) in app (checked 3 file(s)"));
        assert!(text.contains("1 finding(s) allowed by .ksops-check.yaml"));
    }

    #[test]
    fn json_has_the_documented_shape() {
        let out = json_report(&report(), Path::new(".")).unwrap();
        let parsed = parse_json(&out).unwrap();
        let doc = &parsed.documents[0];
        assert_eq!(doc.get("version"), Some(&Value::Float(1.0)));
        let Some(Value::Sequence(findings)) = doc.get("findings") else {
            panic!("no findings array");
        };
        let Value::Mapping(first) = &findings[0] else {
            panic!("finding is not an object");
        };
        assert_eq!(first.get("rule"), Some(&Value::str("missing-file")));
        assert_eq!(first.get("line"), Some(&Value::Float(7.0)));
    }
}
