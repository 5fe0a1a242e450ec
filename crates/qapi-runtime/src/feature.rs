//! Sets of schema features.

use std::fmt;

/// A set of schema features as a bit mask: bit `i` stands for the schema's
/// feature number `i`, numbered as QEMU 10 numbers them (`deprecated` 0,
/// `unstable` 1, then the schema's other features in first-seen order).
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct FeatureSet(u64);

impl FeatureSet {
    /// The empty set.
    pub const EMPTY: FeatureSet = FeatureSet(0);

    /// The set with these bits.
    pub const fn from_bits(bits: u64) -> Self {
        FeatureSet(bits)
    }

    /// The bits.
    pub const fn bits(self) -> u64 {
        self.0
    }

    /// Whether feature number `index` is in the set.
    pub const fn contains(self, index: u32) -> bool {
        index < 64 && self.0 & (1 << index) != 0
    }

    /// Whether every feature of `other` is in the set.
    pub const fn contains_all(self, other: FeatureSet) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether the sets share a feature.
    pub const fn intersects(self, other: FeatureSet) -> bool {
        self.0 & other.0 != 0
    }

    /// The union of both sets.
    pub const fn union(self, other: FeatureSet) -> Self {
        FeatureSet(self.0 | other.0)
    }

    /// Whether the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The feature numbers in the set, in increasing order.
    pub fn indices(self) -> impl Iterator<Item = u32> {
        (0..64).filter(move |&i| self.contains(i))
    }
}

impl std::ops::BitOr for FeatureSet {
    type Output = FeatureSet;

    /// The union, so that groups combine as `Feature::A.set() | Feature::B.set()`.
    fn bitor(self, other: FeatureSet) -> FeatureSet {
        self.union(other)
    }
}

impl FromIterator<FeatureSet> for FeatureSet {
    fn from_iter<I: IntoIterator<Item = FeatureSet>>(sets: I) -> Self {
        sets.into_iter().fold(FeatureSet::EMPTY, FeatureSet::union)
    }
}

impl fmt::Debug for FeatureSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.indices()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::FeatureSet;

    #[test]
    fn set_operations() {
        let a = FeatureSet::from_bits(0b101);
        let b = FeatureSet::from_bits(0b100);
        assert!(a.contains(0) && !a.contains(1) && a.contains(2));
        assert!(!a.contains(64));
        assert!(a.contains_all(b) && !b.contains_all(a));
        assert!(a.intersects(b));
        assert_eq!(a.union(FeatureSet::from_bits(2)).bits(), 0b111);
        assert_eq!(a.indices().collect::<Vec<_>>(), [0, 2]);
        assert!(FeatureSet::EMPTY.is_empty());
        assert_eq!(format!("{a:?}"), "{0, 2}");
    }
}
