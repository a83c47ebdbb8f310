//! The end-to-end suite: one test binary, one module per area, sharing [`support`].
//!
//! Run with `cargo test`; tests that need an external tool fail when it is missing (see
//! [`support::require_tool`]).

mod support;

mod age_key_commands;
mod age_pq;
mod argocd;
mod argocd_manifests;
mod aws_kms;
mod check;
mod cli;
mod cloud_keys;
mod decrypt_fixtures;
mod differential;
mod docs;
mod dry_run;
mod errors;
mod examples;
mod generator_contracts;
mod generator_krm;
mod generator_legacy;
mod globs;
mod ksops_suite;
mod kustomize_plugin;
mod leaks;
mod limits;
mod pgp;
mod tamper;
mod vault;
