//! Growing the lists the analysis keeps by the hundred thousand.

/// Pushes onto a list that lives as long as the analysis: grown one at a time up to four, then
/// by a quarter, where a vector reserves four at once and then doubles. A participant's one A/V
/// attempt took 2 KB of reserved steps, a roster user's one or two endpoints 700 bytes, a
/// conference's five participants room for eight. The spare room stays under a quarter; the
/// copying stays linear (each element is moved about four times on average).
pub fn push_snug<T>(v: &mut Vec<T>, item: T) {
    if v.len() == v.capacity() {
        v.reserve_exact((v.len() / 4).max(1));
    }
    v.push(item);
}

#[cfg(test)]
mod tests {
    use super::push_snug;

    #[test]
    fn lists_hold_at_most_a_quarter_of_spare_room() {
        let mut v = Vec::new();
        for i in 0..4u64 {
            push_snug(&mut v, [i; 16]);
            assert_eq!(v.capacity(), v.len());
        }
        for i in 4..10_000u64 {
            push_snug(&mut v, [i; 16]);
            assert!(
                v.capacity() <= v.len() + v.len() / 4 + 1,
                "{}",
                v.capacity()
            );
        }
        assert_eq!(v.len(), 10_000);
        assert!(v.iter().enumerate().all(|(i, x)| x[0] == i as u64));
    }
}
