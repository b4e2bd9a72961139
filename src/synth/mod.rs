//! Deterministic generator of the sample captures. (Being written.)
