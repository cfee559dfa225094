//! A test fake shared by the checks' unit tests: a driver on a kernel the
//! client knows (Wine or not) that answers with a module's `fake_reply`, as
//! that kernel would or as the other one would.

use crate::Driver;

/// A module's fake of the sample's replies: for `code`, `input` and an
/// output buffer, the reply a kernel gives (`wine`: as Wine's), or `None`
/// for an IOCTL it does not fake.
pub type FakeReply = fn(code: u32, input: &[u8], output: &[u8], wine: bool) -> Option<Result<Vec<u8>, u32>>;

/// A fake whose kernel is known (`is_wine`), answering as `answers_as_wine`
/// says.
pub struct Known {
    pub is_wine: bool,
    pub answers_as_wine: bool,
    pub fake_reply: FakeReply,
}

impl Driver for Known {
    fn device_io_control(&self, code: u32, input: &[u8], output: &mut [u8]) -> Result<usize, u32> {
        let bytes = (self.fake_reply)(code, input, output, self.answers_as_wine).ok_or(1u32)??;
        output[..bytes.len()].copy_from_slice(&bytes);
        Ok(bytes.len())
    }
    fn read_named_section(&self, _: &str, _: usize) -> Result<Vec<u8>, u32> {
        Err(2)
    }
    fn kernel_is_wine(&self) -> Option<bool> {
        Some(self.is_wine)
    }
}

/// Asserts that each of `checks` passes when the known kernel gives its own
/// answers and fails when it gives the other kernel's.
pub fn assert_own_answers_required(checks: &[crate::Check], fake_reply: FakeReply) {
    for check in checks {
        for is_wine in [false, true] {
            assert!(check(&Known { is_wine, answers_as_wine: is_wine, fake_reply }).is_ok());
            assert!(check(&Known { is_wine, answers_as_wine: !is_wine, fake_reply }).is_err());
        }
    }
}
