//! Lync / Skype for Business conference URIs. (Being written.)
