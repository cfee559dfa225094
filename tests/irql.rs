//! IRQL queries and raises against the kernel model.

use wdm_mem::{Irql, NtStatus, model::Kernel};

#[test]
fn run_raised_nests_and_restores() {
    let kernel = Kernel::new();
    let seen = Irql::run_raised(Irql::APC, || {
        let inner = Irql::run_raised(Irql::DISPATCH, Irql::current).unwrap();
        (Irql::current(), inner)
    });
    assert_eq!(seen, Ok((Irql::APC, Irql::DISPATCH)));
    assert_eq!(Irql::current(), Irql::PASSIVE);
    kernel.assert_clean();
}

#[test]
fn raising_below_the_current_level_is_refused_without_a_violation() {
    let kernel = Kernel::new();
    kernel.set_irql(Irql::DISPATCH);
    let mut ran = false;
    assert_eq!(Irql::run_raised(Irql::APC, || ran = true), Err(NtStatus::INVALID_LEVEL));
    assert!(!ran);
    assert_eq!(Irql::ensure_at_most(Irql::APC), Err(NtStatus::INVALID_LEVEL));
    assert_eq!(Irql::ensure_at_most(Irql::DISPATCH), Ok(()));
    kernel.set_irql(Irql::PASSIVE);
    kernel.assert_clean();
}

#[test]
fn levels_have_their_kernel_numbers_and_names() {
    assert_eq!([Irql::PASSIVE, Irql::APC, Irql::DISPATCH, Irql::HIGH].map(Irql::level), [0, 1, 2, 15]);
    assert_eq!(Irql::new(16), None);
    assert_eq!(format!("{:?} {:?}", Irql::DISPATCH, Irql::new(5).unwrap()), "DISPATCH_LEVEL IRQL 5");
}
