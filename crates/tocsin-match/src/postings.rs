//! Posting lists: sorted `Vec<u32>` of slot numbers, without duplicates.

/// Insert `x`, keeping the list sorted (an append when `x` is the largest, as in bulk loads).
pub(crate) fn insert(v: &mut Vec<u32>, x: u32) {
    match v.last() {
        None => v.push(x),
        Some(&last) if last < x => v.push(x),
        _ => {
            if let Err(i) = v.binary_search(&x) {
                v.insert(i, x);
            }
        }
    }
}

/// Remove `x` if present.
pub(crate) fn remove(v: &mut Vec<u32>, x: u32) -> bool {
    match v.binary_search(&x) {
        Ok(i) => {
            v.remove(i);
            true
        }
        Err(_) => false,
    }
}

pub(crate) fn contains(v: &[u32], x: u32) -> bool {
    v.binary_search(&x).is_ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn stays_sorted_and_unique() {
        let mut v = Vec::new();
        for x in [5, 9, 1, 5, 7, 12] {
            super::insert(&mut v, x);
        }
        assert_eq!(v, [1, 5, 7, 9, 12]);
        assert!(super::remove(&mut v, 7) && !super::remove(&mut v, 7));
        assert!(super::contains(&v, 9) && !super::contains(&v, 7));
    }
}
