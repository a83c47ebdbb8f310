//! The KSOPS generator: turns KSOPS generator configs into Kubernetes Secrets; it uses the SOPS
//! engine and knows nothing of the command line.

pub mod confine;
