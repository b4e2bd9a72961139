//! Growing the short lists the analysis keeps by the hundred thousand.

/// Pushes onto a list that usually holds one to three items: grown one at a time up to four,
/// where a vector's first growth reserves four at once (for a participant's attempts, 2 KB of
/// steps for the one attempt nearly everyone has; for a roster user's endpoints, 700 bytes for
/// one or two). Beyond four it grows as vectors do.
pub fn push_small<T>(v: &mut Vec<T>, item: T) {
    if v.len() == v.capacity() && v.len() < 4 {
        v.reserve_exact(1);
    }
    v.push(item);
}

#[cfg(test)]
mod tests {
    use super::push_small;

    #[test]
    fn short_lists_hold_no_spare_room_and_long_ones_grow_as_usual() {
        let mut v = Vec::new();
        for i in 0..4u64 {
            push_small(&mut v, [i; 16]);
            assert_eq!(v.capacity(), v.len());
        }
        for i in 4..100u64 {
            push_small(&mut v, [i; 16]);
        }
        assert_eq!(v.len(), 100);
        assert!(v.iter().enumerate().all(|(i, x)| x[0] == i as u64));
    }
}
