//! The README's first command: `ksops render examples/overlays/<env>` with the TEST ONLY demo
//! key renders every overlay, with hashed Secret names rewired into the Deployment.

use crate::support;

use crate::support::TempDir;

#[test]
fn every_example_overlay_renders() {
    if support::require_tool("kubectl").is_none() {
        return;
    }
    for env in ["dev", "staging", "prod"] {
        let home = TempDir::new("examples-home");
        let mut cmd = support::controlled_command(&support::ksops_bin(), home.path());
        cmd.current_dir(support::crate_root())
            .args(["render", &format!("examples/overlays/{env}")])
            .env("SOPS_AGE_KEY_FILE", "examples/overlays/demo-age-key.txt");
        let out = support::run(&mut cmd).expect("run ksops render");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.success(), "{env}: {stderr}");
        let text = String::from_utf8(out.stdout).expect("utf8");
        for (index, expected) in [
            format!("namespace: shop-{env}"),
            format!("password: demo-{env}-password"),
            format!("API_TOKEN: demo-{env}-token"),
            "name: registry-credentials".to_string(),
        ]
        .iter()
        .enumerate()
        {
            // Named by position only: the expected text holds (demo) secret values.
            assert!(
                text.contains(expected.as_str()),
                "{env}: expected line #{index} missing"
            );
        }
        // needs-hash: the Secret gets a content hash and the Deployment follows it.
        let hashed = text
            .lines()
            .filter(|l| l.trim_start().starts_with("name: database-"))
            .count();
        assert!(hashed >= 2, "{env}: hashed name not rewired");
    }
}
