//! A set of task ids below a batch's total as a bitmap: one bit per task,
//! so 10 million tasks take 1.25 MB where a map of ids takes hundreds.

/// Task ids `0..capacity`, one bit each.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IdSet {
    words: Vec<u64>,
    capacity: u64,
    len: u64,
}

impl IdSet {
    /// An empty set for ids below `capacity`.
    #[must_use]
    pub fn new(capacity: u64) -> Self {
        let words = usize::try_from(capacity.div_ceil(64)).unwrap_or(usize::MAX);
        Self {
            words: vec![0; words],
            capacity,
            len: 0,
        }
    }

    /// Adds `id`; false if it was there already or is not below the
    /// capacity.
    pub fn insert(&mut self, id: u64) -> bool {
        if id >= self.capacity {
            return false;
        }
        let (word, bit) = Self::locate(id);
        let was = self.words[word] & bit != 0;
        self.words[word] |= bit;
        self.len += u64::from(!was);
        !was
    }

    /// True if `id` is in the set.
    #[must_use]
    pub fn contains(&self, id: u64) -> bool {
        if id >= self.capacity {
            return false;
        }
        let (word, bit) = Self::locate(id);
        self.words[word] & bit != 0
    }

    /// Ids in the set.
    #[must_use]
    pub fn len(&self) -> u64 {
        self.len
    }

    /// True when no id is in the set.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// True when every id below the capacity is in the set.
    #[must_use]
    pub fn is_full(&self) -> bool {
        self.len == self.capacity
    }

    /// The ids in ascending order.
    pub fn iter(&self) -> impl Iterator<Item = u64> + '_ {
        self.words.iter().enumerate().flat_map(|(i, &word)| {
            let base = i as u64 * 64;
            std::iter::successors((word != 0).then_some(word), |&w| {
                let rest = w & (w - 1);
                (rest != 0).then_some(rest)
            })
            .map(move |w| base + u64::from(w.trailing_zeros()))
        })
    }

    fn locate(id: u64) -> (usize, u64) {
        // `id` is below the capacity, whose words fit in memory.
        let word = usize::try_from(id / 64).unwrap_or(usize::MAX);
        (word, 1 << (id % 64))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn behaves_as_a_set_of_ids_below_its_capacity(
            capacity in 0u64..300,
            ids in prop::collection::vec(0u64..320, 0..200),
        ) {
            let mut set = IdSet::new(capacity);
            let mut model = BTreeSet::new();
            for id in ids {
                let fresh = id < capacity && model.insert(id);
                prop_assert_eq!(set.insert(id), fresh);
                prop_assert!(set.contains(id) == (id < capacity));
            }
            prop_assert_eq!(set.len(), model.len() as u64);
            prop_assert_eq!(set.is_full(), model.len() as u64 == capacity);
            prop_assert_eq!(set.iter().collect::<Vec<_>>(), model.into_iter().collect::<Vec<_>>());
        }
    }

    #[test]
    fn ten_million_ids_take_a_bit_each() {
        let set = IdSet::new(10_000_000);
        assert_eq!(set.words.len() * 8, 1_250_000);
        assert!(set.is_empty());
    }
}
