//! `pool::stats` counts this crate's outstanding allocations process-wide, so
//! it is tested alone in its own test binary.

use wdm_mem::{
    model::Kernel,
    pool::{self, PoolBox, PoolBuffer, PoolStats, PoolType},
    pool_tag,
};

#[test]
fn stats_follow_allocations_and_frees() {
    let kernel = Kernel::new();
    assert_eq!(pool::stats(), PoolStats::default());
    let tag = pool_tag!(b"Stat");
    let buffer = PoolBuffer::new(100, 64, tag, PoolType::NonPagedNx).unwrap();
    let boxed = PoolBox::new(1u32, tag, PoolType::Paged).unwrap();
    assert_eq!(pool::stats(), PoolStats { allocations: 2, bytes: 104 });
    assert!(PoolBuffer::new(0, 0, tag, PoolType::Paged).is_err());
    assert_eq!(pool::stats().allocations, 2, "a failed allocation is not counted");
    drop((buffer, boxed));
    assert_eq!(pool::stats(), PoolStats::default());
    kernel.assert_clean();
}
