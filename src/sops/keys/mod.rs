//! The data key: age identities, unwrapping each recipient's copy, and Shamir key groups.
