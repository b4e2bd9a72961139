//! SIP body dissectors, one module per content type. (Being written.)
