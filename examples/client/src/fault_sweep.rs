//! The client's checks against the sample driver's own code on the host:
//! the sample's library (`wdm-mem-sample-lib`: `start`, `dispatch`, `stop`)
//! loaded in a kernel of the model (`wdm_mem::model`), each request built as
//! the I/O manager builds it, in a simulated user process. Then the fault
//! sweep: every check again with each allocation-like kernel call failed in
//! turn (`Fault::nth(k)` until a run sees no injected fault), then with
//! every call of each routine of its log failed (`Fault::routine`).
//!
//! What each run must show: no panic, no leak (the model's unload report
//! and the driver's own `stop`), no verifier violation, no reply claiming
//! more bytes than the caller's buffer, and every request during which an
//! injected failure happened completed with an NT_ERROR status. Without a
//! fault, every check passes.
//!
//! The sample keeps its state in statics (one driver image per process):
//! its runs are serialised by [`SAMPLE`].

use std::{
    cell::RefCell,
    io::Write,
    ops::Range,
    panic::{self, AssertUnwindSafe},
    sync::{Mutex, MutexGuard},
};

use wdm_mem::{
    NtStatus,
    model::{
        Call, DeviceControlIrp, Fault, Kernel, LOOKASIDE_ENTRIES_OUTSTANDING, UserProcess, Violation, driver_object,
    },
    object_name,
    section::{ReadOnly, Section, SectionAccess},
};
use wdm_mem_sample_lib::{self as sample, irp};

use crate::{
    CHECKS, Check, Driver,
    protocol::{
        IOCTL_IO_SPACE_READ, IOCTL_MDL_KERNEL_BUFFERS, IOCTL_MDL_PROBE, IOCTL_ROUTINES_STATUS, IOCTL_SECTION_PUBLISH,
        IOCTL_SECTION_ROUNDTRIP, IOCTL_SECTION_UNPUBLISH, IOCTL_USER_MAP, SECTION_USER_NAME,
    },
};

/// The sample driver's statics are the process's: one run at a time.
static SAMPLE: Mutex<()> = Mutex::new(());

fn sample_lock() -> MutexGuard<'static, ()> {
    SAMPLE.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The Win32 error `DeviceIoControl` reports for `status`
/// (`RtlNtStatusToDosError`, for the statuses the sample completes with;
/// `ERROR_MR_MID_NOT_FOUND`, 317, for the others).
fn win32_error(status: NtStatus) -> u32 {
    match status.to_raw() as u32 {
        0xC000_0005 => 998,  // ACCESS_VIOLATION: ERROR_NOACCESS
        0xC000_000D => 87,   // INVALID_PARAMETER
        0xC000_0010 => 1,    // INVALID_DEVICE_REQUEST: ERROR_INVALID_FUNCTION
        0xC000_0017 => 8,    // NO_MEMORY: ERROR_NOT_ENOUGH_MEMORY
        0xC000_0023 => 122,  // BUFFER_TOO_SMALL: ERROR_INSUFFICIENT_BUFFER
        0xC000_0034 => 2,    // OBJECT_NAME_NOT_FOUND: ERROR_FILE_NOT_FOUND
        0xC000_003E => 23,   // DATA_ERROR: ERROR_CRC
        0xC000_007A => 127,  // PROCEDURE_NOT_FOUND: ERROR_PROC_NOT_FOUND
        0xC000_009A => 1450, // INSUFFICIENT_RESOURCES: ERROR_NO_SYSTEM_RESOURCES
        0xC000_00BB => 50,   // NOT_SUPPORTED
        _ => 317,
    }
}

/// One request as the sweep saw it.
#[derive(Debug)]
struct Sent {
    code: u32,
    /// The completion, `None` when the I/O manager refused the request
    /// before the driver saw it.
    completion: Option<(NtStatus, usize)>,
    /// The fallible calls made by the driver while it handled the request
    /// (their `Call::sequence`).
    calls: Range<u64>,
    /// The reply of a successful METHOD_BUFFERED request.
    reply: Vec<u8>,
}

/// The offsets of the `i32` status fields of the replies of the IOCTLs that
/// succeed with the status of each kernel operation in their reply (the
/// kernel's answer is what they report: `protocol.rs`).
fn reply_statuses(code: u32) -> &'static [usize] {
    match code {
        IOCTL_SECTION_ROUNDTRIP | IOCTL_SECTION_PUBLISH | IOCTL_SECTION_UNPUBLISH => &[0, 12, 24],
        IOCTL_MDL_PROBE | IOCTL_IO_SPACE_READ | IOCTL_USER_MAP => &[0],
        IOCTL_MDL_KERNEL_BUFFERS => &[0, 4],
        IOCTL_ROUTINES_STATUS => &[4, 8, 16],
        _ => &[],
    }
}

/// Whether the request `faulted`, during which an injected failure
/// happened, made it visible: completed with an NT_ERROR status, or, for an
/// IOCTL that reports the kernel's statuses in its reply, with a status
/// field that is an NT_ERROR where the same request without the fault had
/// another.
fn surfaced(faulted: &Sent, baseline: Option<&Sent>) -> bool {
    let Some((status, _)) = faulted.completion else { return true };
    if status.is_error() {
        return true;
    }
    let field = |reply: &[u8], at: usize| reply.get(at..at + 4).map(|b| i32::from_le_bytes(b.try_into().unwrap()));
    reply_statuses(faulted.code).iter().any(|&at| {
        let now = field(&faulted.reply, at);
        let before = baseline.filter(|b| b.code == faulted.code).and_then(|b| field(&b.reply, at));
        now.is_some_and(|now| NtStatus::from_raw(now).is_error()) && now != before
    })
}

/// The sample, loaded in `kernel`, as the checks' [`Driver`]: every request
/// is sent from `process`.
struct ModelDriver<'k> {
    kernel: &'k Kernel,
    process: UserProcess,
    sent: RefCell<Vec<Sent>>,
    /// Broken invariants of the I/O manager's side (a reply longer than its
    /// buffer).
    problems: RefCell<Vec<String>>,
}

impl ModelDriver<'_> {
    /// The driver's part: `dispatch` and the completion, with the window
    /// of fallible calls it made.
    fn dispatch(&self, irp: &DeviceControlIrp, output_len: usize) -> (NtStatus, usize) {
        let first = self.kernel.fallible_calls() + 1;
        // SAFETY: a valid, simulated device-control IRP, completed once below,
        // after the request's last use.
        let (status, written) = sample::dispatch(&unsafe { irp::DeviceControl::from_irp(irp.as_ptr()) });
        // SAFETY: completed exactly once, here; not used by the driver after.
        unsafe { irp::complete(irp.as_ptr(), status, written) };
        let calls = first..self.kernel.fallible_calls() + 1;
        let completion = irp.completion();
        if completion != Some((status, written)) {
            self.problems.borrow_mut().push(format!("{:#x}: completion {completion:?}", irp.code()));
        }
        if written > output_len {
            self.problems
                .borrow_mut()
                .push(format!("{:#x}: reply of {written} bytes for a {output_len}-byte buffer", irp.code()));
        }
        let reply = irp.output().to_vec();
        self.sent.borrow_mut().push(Sent { code: irp.code(), completion: Some((status, written)), calls, reply });
        (status, written)
    }

    /// A user buffer of the process holding `bytes`, or none (address 0)
    /// for an empty one, as the client passes NULL.
    fn user_copy(&self, bytes: &[u8]) -> Option<wdm_mem::model::UserRange> {
        if bytes.is_empty() {
            return None;
        }
        let range = self.process.user_buffer(self.kernel, bytes.len());
        self.kernel.write_user(range.address, bytes);
        Some(range)
    }

    fn send(&self, code: u32, input: &[u8], output: &mut [u8]) -> Result<usize, NtStatus> {
        let (status, written) = match code & 3 {
            0 => {
                let irp = DeviceControlIrp::buffered(code, input, output.len());
                let (status, written) = self.dispatch(&irp, output.len());
                if status.is_success() {
                    let reply = irp.output();
                    output[..reply.len()].copy_from_slice(reply);
                }
                (status, written)
            }
            method => {
                // The caller's buffers are its own memory: what the driver
                // wrote there stays, whatever the status.
                let (in_buffer, out_buffer) = if method == 3 {
                    (self.user_copy(input), self.user_copy(output))
                } else {
                    (None, self.user_copy(output))
                };
                let address = |range: Option<wdm_mem::model::UserRange>| range.map_or(0, |range| range.address);
                let irp = if method == 3 {
                    Ok(DeviceControlIrp::neither(
                        code,
                        address(in_buffer),
                        input.len(),
                        address(out_buffer),
                        output.len(),
                    ))
                } else {
                    DeviceControlIrp::direct(code, input, address(out_buffer), output.len())
                };
                let result = match irp {
                    Ok(irp) => Ok(self.dispatch(&irp, output.len())),
                    Err(status) => {
                        self.sent.borrow_mut().push(Sent { code, completion: None, calls: 0..0, reply: Vec::new() });
                        Err(status)
                    }
                };
                if let Some(range) = out_buffer {
                    output.copy_from_slice(&self.kernel.read_user(range.address, output.len()));
                }
                for range in [in_buffer, out_buffer].into_iter().flatten() {
                    self.kernel.free_user_buffer(range);
                }
                result?
            }
        };
        if status.is_success() { Ok(written) } else { Err(status) }
    }
}

impl Driver for ModelDriver<'_> {
    fn device_io_control(&self, code: u32, input: &[u8], output: &mut [u8]) -> Result<usize, u32> {
        self.process.run(|| self.send(code, input, output)).map_err(win32_error)
    }

    fn read_named_section(&self, name: &str, len: usize) -> Result<Vec<u8>, u32> {
        if name != SECTION_USER_NAME {
            return Err(2);
        }
        self.process
            .run(|| {
                let section = Section::open(object_name!("\\BaseNamedObjects\\WdmMemSample"), SectionAccess::READ)?;
                let view = section.map::<ReadOnly>(0, len)?;
                let mut bytes = vec![0; len];
                view.read_bytes(0, &mut bytes)?;
                view.unmap()?;
                Ok(bytes)
            })
            .map_err(win32_error)
    }

    fn kernel_is_wine(&self) -> Option<bool> {
        Some(false)
    }
}

/// The violation a scenario makes on purpose, which the model notes where
/// Windows is silent: `lookaside_abandon_leaked_entries` deletes a list
/// with its entries out (`delete_abandoning_entries`).
fn intended(name: &str, violation: &Violation) -> bool {
    name == "lookaside_abandon_leaked_entries"
        && violation.bug_check.code == 0xC4
        && violation.bug_check.params[0] == LOOKASIDE_ENTRIES_OUTSTANDING
}

/// The checks whose Windows answers need what the model does not stand in
/// for: the client's own memory named by raw pointers inside a request
/// (`mdl_probe_bad_pointers`), a device behind the I/O space and a bus
/// (`io_space_statuses`, `routines_statuses`), physical addresses of pool
/// (`address_checks`). Their verdicts are not asserted; the sweep's
/// invariants are.
const VERDICT_NOT_MODELLED: &[&str] =
    &["mdl_probe_bad_pointers", "io_space_statuses", "address_checks", "routines_statuses"];

/// A fault to arm, and which calls of the log it failed.
type Armed<'f> = (Fault, &'f dyn Fn(&Call) -> bool);

/// What one run of one scenario showed.
#[derive(Debug, Default)]
struct Run {
    /// The check's verdict (`None`: the driver did not load, or it panicked).
    verdict: Option<Result<String, String>>,
    panicked: bool,
    /// Violations before the unload, then leaks the unload found (and the
    /// driver's own `stop` report).
    violations: Vec<String>,
    leaks: Vec<String>,
    /// Requests during which an injected failure happened but that
    /// completed with a status other than an NT_ERROR, and other broken
    /// invariants.
    problems: Vec<String>,
    /// The fallible calls of the run.
    log: Vec<Call>,
    /// The requests of the run.
    sent: Vec<Sent>,
    /// Whether an injected failure happened.
    injected: bool,
}

/// Loads the sample in a fresh kernel, runs `check`, unloads; with `fault`
/// armed from the start (DriverEntry's own calls included).
/// `baseline`: the run without a fault, whose replies a faulted run's are
/// compared with.
fn run(name: &str, check: Check, fault: Option<Armed<'_>>, baseline: Option<&Run>) -> Run {
    let _one = sample_lock();
    let kernel = Kernel::new();
    let process = kernel.create_process();
    if let Some((fault, _)) = &fault {
        kernel.inject(fault.clone());
    }
    let driver = ModelDriver { kernel: &kernel, process, sent: RefCell::default(), problems: RefCell::default() };
    let mut driver_object = driver_object();
    let mut result = Run::default();
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: the sample's "DriverEntry", once for this kernel and this
        // driver object; `stop` follows if it loaded, with no request in
        // flight.
        unsafe { sample::start(&mut driver_object) }.ok()?;
        let verdict = check(&driver);
        // SAFETY: "DriverUnload" after the successful start, no request in flight.
        let stopped_clean = unsafe { sample::stop(&mut driver_object) };
        Some((verdict, stopped_clean))
    }));
    match outcome {
        Ok(Some((verdict, stopped_clean))) => {
            result.verdict = Some(verdict);
            if !stopped_clean {
                result.leaks.push("stop: a lookaside entry or a pool allocation is still outstanding".into());
            }
        }
        Ok(None) => {}
        Err(_) => result.panicked = true,
    }
    result.log = kernel.call_log();
    let before = kernel.violations().len();
    result.problems = driver.problems.take();
    result.sent = driver.sent.take();
    let report = kernel.finish();
    let (during, at_unload) = report.violations.split_at(before);
    result.violations = during.iter().filter(|v| !intended(name, v)).map(|v| v.to_string()).collect();
    result.leaks.extend(at_unload.iter().map(|v| v.to_string()));
    if let Some((_, failed)) = fault {
        let failed: Vec<u64> = result.log.iter().filter(|call| failed(call)).map(|call| call.sequence).collect();
        result.injected = !failed.is_empty();
        for (index, sent) in result.sent.iter().enumerate() {
            let hit = failed.iter().any(|sequence| sent.calls.contains(sequence));
            if hit && !surfaced(sent, baseline.and_then(|b| b.sent.get(index))) {
                result.problems.push(format!(
                    "{:#x}: an injected failure, completed with {:?} and the reply {:?}",
                    sent.code, sent.completion, sent.reply
                ));
            }
        }
    }
    result
}

/// What the sweep found, over every run.
#[derive(Default)]
struct Tally {
    scenarios: usize,
    injection_points: usize,
    leaks: usize,
    panics: usize,
    violations: usize,
    failures: Vec<String>,
}

impl Tally {
    fn add(&mut self, name: &str, what: &str, run: &Run) {
        self.leaks += run.leaks.len();
        self.panics += usize::from(run.panicked);
        self.violations += run.violations.len();
        let broken = run.panicked || !run.leaks.is_empty() || !run.violations.is_empty() || !run.problems.is_empty();
        if broken {
            self.failures.push(format!(
                "{name} {what}: panicked={} leaks={:?} violations={:?} problems={:?}",
                run.panicked, run.leaks, run.violations, run.problems
            ));
        }
    }
}

/// The sweep over `checks`.
fn sweep(checks: &[(&str, Check)]) -> Tally {
    let mut tally = Tally::default();
    for &(name, check) in checks {
        tally.scenarios += 1;
        let baseline = run(name, check, None, None);
        tally.add(name, "without a fault", &baseline);
        if let (Some(Err(reason)), false) = (&baseline.verdict, VERDICT_NOT_MODELLED.contains(&name)) {
            tally.failures.push(format!("{name} without a fault: FAIL {reason}"));
        }
        if baseline.verdict.is_none() && !baseline.panicked {
            tally.failures.push(format!("{name} without a fault: the driver did not load"));
        }
        for k in 1.. {
            let faulted =
                run(name, check, Some((Fault::nth(k), &move |call: &Call| call.sequence == k)), Some(&baseline));
            if !faulted.injected {
                break;
            }
            tally.injection_points += 1;
            tally.add(name, &format!("Fault::nth({k})"), &faulted);
        }
        let mut routines: Vec<&'static str> = baseline.log.iter().map(|call| call.routine).collect();
        routines.sort_unstable();
        routines.dedup();
        for routine in routines {
            let faulted = run(
                name,
                check,
                Some((Fault::routine(routine), &move |call: &Call| call.routine == routine)),
                Some(&baseline),
            );
            tally.injection_points += usize::from(faulted.injected);
            tally.add(name, &format!("Fault::routine({routine:?})"), &faulted);
        }
    }
    tally
}

#[test]
fn every_check_passes_against_the_sample_on_the_model() {
    let mut failures = Vec::new();
    for &(name, check) in CHECKS {
        let run = run(name, check, None, None);
        if !matches!(run.verdict, Some(Ok(_))) && !VERDICT_NOT_MODELLED.contains(&name) {
            failures.push(format!("{name}: {:?}", run.verdict));
        }
        if run.panicked || !run.leaks.is_empty() || !run.violations.is_empty() || !run.problems.is_empty() {
            failures.push(format!("{name}: {run:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn fault_sweep() {
    let tally = sweep(CHECKS);
    let line = format!(
        "fault sweep: {} scenarios, {} injection points, {} leaks, {} panics, {} violations\n",
        tally.scenarios, tally.injection_points, tally.leaks, tally.panics, tally.violations
    );
    // The summary goes to the real stdout, past the test harness's capture.
    std::io::stdout().lock().write_all(line.as_bytes()).unwrap();
    assert!(tally.failures.is_empty(), "{}", tally.failures.join("\n"));
    assert!(tally.injection_points >= 100, "{line}");
}

#[test]
fn a_success_hiding_an_injected_failure_is_caught() {
    use crate::protocol::IOCTL_POOL_ROUNDTRIP;
    let sent =
        |code, status, reply: Vec<u8>| Sent { code, completion: Some((status, reply.len())), calls: 1..2, reply };
    let with_status = |status: NtStatus| [&status.to_raw().to_le_bytes()[..], &[0; 12]].concat();
    assert!(surfaced(&sent(IOCTL_POOL_ROUNDTRIP, NtStatus::INSUFFICIENT_RESOURCES, Vec::new()), None));
    assert!(!surfaced(&sent(IOCTL_POOL_ROUNDTRIP, NtStatus::SUCCESS, vec![0; 40]), None));
    let fine = sent(IOCTL_MDL_PROBE, NtStatus::SUCCESS, with_status(NtStatus::SUCCESS));
    let failed = sent(IOCTL_MDL_PROBE, NtStatus::SUCCESS, with_status(NtStatus::INSUFFICIENT_RESOURCES));
    assert!(surfaced(&failed, Some(&fine)), "the reply's status field is the error");
    assert!(!surfaced(&fine, Some(&fine)));
    assert!(!surfaced(&failed, Some(&failed)), "the error the request has without the fault is not the fault's");
}

#[test]
fn the_sample_device_admits_only_system_and_administrators_and_goes_at_unload() {
    use wdm_mem::{model::DeviceSecurity, section::SecurityDescriptor};
    for wine in [false, true] {
        let _one = sample_lock();
        let kernel = Kernel::new();
        if wine {
            kernel.act_as_wine();
        }
        let mut driver_object = driver_object();
        // SAFETY: "DriverEntry" once, then "DriverUnload", no request between.
        unsafe { sample::start(&mut driver_object) }.unwrap();
        let security = kernel.device("\\Device\\WdmMemSample").map(|device| device.security);
        let expected = if wine {
            DeviceSecurity::Sddl("D:P(A;;GA;;;SY)(A;;GA;;;BA)".into())
        } else {
            DeviceSecurity::Dacl(SecurityDescriptor::system_and_administrators().as_bytes().to_vec())
        };
        assert_eq!(security, Some(expected));
        assert_eq!(kernel.symbolic_link("\\DosDevices\\WdmMemSample").as_deref(), Some("\\Device\\WdmMemSample"));
        // SAFETY: as above.
        assert!(unsafe { sample::stop(&mut driver_object) });
        assert_eq!(kernel.device("\\Device\\WdmMemSample"), None);
        assert_eq!(kernel.symbolic_link("\\DosDevices\\WdmMemSample"), None);
        kernel.assert_clean();
    }
}
