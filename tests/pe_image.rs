//! The cross-built sample driver is a well-formed, modern kernel image.
//!
//! Reads `target/sample/wdm_mem_sample.sys` (built by `scripts/build-driver.sh
//! --driver-only`, which this test runs first) with the small PE32+ parser
//! below and checks what the loader and HVCI care about: subsystem NATIVE, the
//! entry point is `DriverEntry`, imports only from `ntoskrnl.exe`/`HAL.dll`,
//! no static import of `ExAllocatePool2` (resolved at run time), NX and
//! dynamic-base flags, no writable+executable section, base relocations,
//! a pageable, writable `PAGEDATA` section for `pageable_static!` data.
//!
//! When the build prerequisites are missing (the script exits 3), the checks
//! are skipped with a note, unless `WDM_MEM_REQUIRE_E2E=1` is set, in which
//! case they fail. `WDM_MEM_SKIP_E2E=1` skips them without building (ignored
//! when the e2e tests are required).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use pe::{IMAGE_SCN_MEM_EXECUTE, Pe};

/// A small, defensive PE32+ reader: every offset is bounds-checked, every
/// failure is an error value (never a panic), so it is safe on any input.
pub mod pe {
    use std::fmt;

    /// `IMAGE_SUBSYSTEM_NATIVE`: kernel-mode drivers.
    pub const IMAGE_SUBSYSTEM_NATIVE: u16 = 1;
    /// `IMAGE_DLLCHARACTERISTICS_DYNAMIC_BASE`.
    pub const IMAGE_DLLCHARACTERISTICS_DYNAMIC_BASE: u16 = 0x0040;
    /// `IMAGE_DLLCHARACTERISTICS_NX_COMPAT`.
    pub const IMAGE_DLLCHARACTERISTICS_NX_COMPAT: u16 = 0x0100;
    /// `IMAGE_FILE_DLL` (COFF characteristics).
    pub const IMAGE_FILE_DLL: u16 = 0x2000;
    /// `IMAGE_SCN_CNT_CODE`.
    pub const IMAGE_SCN_CNT_CODE: u32 = 0x0000_0020;
    /// `IMAGE_SCN_MEM_DISCARDABLE`.
    pub const IMAGE_SCN_MEM_DISCARDABLE: u32 = 0x0200_0000;
    /// `IMAGE_SCN_MEM_NOT_PAGED`.
    pub const IMAGE_SCN_MEM_NOT_PAGED: u32 = 0x0800_0000;
    /// `IMAGE_SCN_MEM_EXECUTE`.
    pub const IMAGE_SCN_MEM_EXECUTE: u32 = 0x2000_0000;
    /// `IMAGE_SCN_MEM_READ`.
    pub const IMAGE_SCN_MEM_READ: u32 = 0x4000_0000;
    /// `IMAGE_SCN_MEM_WRITE`.
    pub const IMAGE_SCN_MEM_WRITE: u32 = 0x8000_0000;

    /// Data-directory indices.
    pub const DIR_EXPORT: usize = 0;
    /// Import directory.
    pub const DIR_IMPORT: usize = 1;
    /// Base-relocation directory.
    pub const DIR_BASERELOC: usize = 5;

    /// Why an image could not be read.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub enum PeError {
        /// `len` bytes needed at `offset` for `what`, past the end of the file.
        Truncated {
            /// The structure being read.
            what: &'static str,
            /// Its file offset.
            offset: usize,
            /// Its size.
            len: usize,
        },
        /// A magic number is wrong.
        BadMagic(&'static str),
        /// An RVA points outside every section.
        BadRva {
            /// The structure being read.
            what: &'static str,
            /// The RVA.
            rva: u32,
        },
        /// Something else is inconsistent.
        Malformed(String),
    }

    impl fmt::Display for PeError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                PeError::Truncated { what, offset, len } => {
                    write!(f, "truncated: {what} needs {len} bytes at {offset:#x}")
                }
                PeError::BadMagic(what) => write!(f, "bad magic: {what}"),
                PeError::BadRva { what, rva } => write!(f, "{what}: RVA {rva:#x} is in no section"),
                PeError::Malformed(why) => write!(f, "malformed: {why}"),
            }
        }
    }

    impl std::error::Error for PeError {}

    /// A section header.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct Section {
        /// The name (up to 8 bytes; `/nnn` long names are not resolved).
        pub name: String,
        /// `VirtualSize`.
        pub virtual_size: u32,
        /// `VirtualAddress` (an RVA).
        pub virtual_address: u32,
        /// `SizeOfRawData`.
        pub raw_size: u32,
        /// `PointerToRawData`.
        pub raw_offset: u32,
        /// `Characteristics` (`IMAGE_SCN_*`).
        pub characteristics: u32,
    }

    impl Section {
        /// Whether every bit of `flags` is set.
        pub fn has(&self, flags: u32) -> bool {
            self.characteristics & flags == flags
        }
        /// Writable and executable at once (refused by HVCI).
        pub fn is_writable_and_executable(&self) -> bool {
            self.has(IMAGE_SCN_MEM_WRITE | IMAGE_SCN_MEM_EXECUTE)
        }
        /// Pageable: not `IMAGE_SCN_MEM_NOT_PAGED` (and not discardable).
        pub fn is_pageable(&self) -> bool {
            self.characteristics & (IMAGE_SCN_MEM_NOT_PAGED | IMAGE_SCN_MEM_DISCARDABLE) == 0
        }
        /// Whether `rva` falls inside the section in memory.
        pub fn contains_rva(&self, rva: u32) -> bool {
            let size = self.virtual_size.max(self.raw_size);
            rva >= self.virtual_address && (rva - self.virtual_address) < size
        }
    }

    /// One imported function.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub enum ImportedSymbol {
        /// By name.
        Name(String),
        /// By ordinal.
        Ordinal(u16),
    }

    /// The functions imported from one DLL.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct Import {
        /// The DLL name as written in the image.
        pub dll: String,
        /// The functions.
        pub symbols: Vec<ImportedSymbol>,
    }

    /// One named export.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct Export {
        /// The name.
        pub name: String,
        /// Its RVA (for a forwarder, the RVA of the forwarder string).
        pub rva: u32,
    }

    /// A parsed PE32+ image (headers, sections; tables on demand).
    #[derive(Clone, Debug)]
    pub struct Pe<'a> {
        data: &'a [u8],
        /// COFF `Machine`.
        pub machine: u16,
        /// COFF `Characteristics` (`IMAGE_FILE_*`).
        pub file_characteristics: u16,
        /// `AddressOfEntryPoint`.
        pub entry_point: u32,
        /// `ImageBase`.
        pub image_base: u64,
        /// `Subsystem`.
        pub subsystem: u16,
        /// `DllCharacteristics`.
        pub dll_characteristics: u16,
        /// The data directories: (RVA, size).
        pub directories: Vec<(u32, u32)>,
        /// The section headers.
        pub sections: Vec<Section>,
    }

    fn bytes<'a>(data: &'a [u8], offset: usize, len: usize, what: &'static str) -> Result<&'a [u8], PeError> {
        offset.checked_add(len).and_then(|end| data.get(offset..end)).ok_or(PeError::Truncated { what, offset, len })
    }
    fn u16_at(data: &[u8], offset: usize, what: &'static str) -> Result<u16, PeError> {
        Ok(u16::from_le_bytes(bytes(data, offset, 2, what)?.try_into().unwrap()))
    }
    fn u32_at(data: &[u8], offset: usize, what: &'static str) -> Result<u32, PeError> {
        Ok(u32::from_le_bytes(bytes(data, offset, 4, what)?.try_into().unwrap()))
    }
    fn u64_at(data: &[u8], offset: usize, what: &'static str) -> Result<u64, PeError> {
        Ok(u64::from_le_bytes(bytes(data, offset, 8, what)?.try_into().unwrap()))
    }

    impl<'a> Pe<'a> {
        /// Parses the headers of a PE32+ image.
        pub fn parse(data: &'a [u8]) -> Result<Self, PeError> {
            if bytes(data, 0, 2, "DOS header")? != b"MZ" {
                return Err(PeError::BadMagic("DOS header is not MZ"));
            }
            let nt = u32_at(data, 0x3c, "e_lfanew")? as usize;
            if bytes(data, nt, 4, "PE signature")? != b"PE\0\0" {
                return Err(PeError::BadMagic("PE signature"));
            }
            let coff = nt + 4;
            let machine = u16_at(data, coff, "COFF header")?;
            let section_count = u16_at(data, coff + 2, "COFF header")? as usize;
            let optional_size = u16_at(data, coff + 16, "COFF header")? as usize;
            let file_characteristics = u16_at(data, coff + 18, "COFF header")?;
            let opt = coff + 20;
            let optional = bytes(data, opt, optional_size, "optional header")?;
            if optional.len() < 112 {
                return Err(PeError::Malformed(format!("optional header of {optional_size} bytes")));
            }
            if u16_at(optional, 0, "optional header")? != 0x20b {
                return Err(PeError::BadMagic("optional header is not PE32+"));
            }
            let entry_point = u32_at(optional, 16, "optional header")?;
            let image_base = u64_at(optional, 24, "optional header")?;
            let subsystem = u16_at(optional, 68, "optional header")?;
            let dll_characteristics = u16_at(optional, 70, "optional header")?;
            let dir_count = u32_at(optional, 108, "optional header")? as usize;
            if dir_count > 16 || 112 + dir_count * 8 > optional.len() {
                return Err(PeError::Malformed(format!("{dir_count} data directories")));
            }
            let directories = (0..dir_count)
                .map(|i| {
                    Ok((
                        u32_at(optional, 112 + i * 8, "data directory")?,
                        u32_at(optional, 116 + i * 8, "data directory")?,
                    ))
                })
                .collect::<Result<Vec<_>, PeError>>()?;
            let table = opt + optional_size;
            let sections = (0..section_count)
                .map(|i| {
                    let h = bytes(data, table + i * 40, 40, "section header")?;
                    let name_end = h[..8].iter().position(|&b| b == 0).unwrap_or(8);
                    Ok(Section {
                        name: String::from_utf8_lossy(&h[..name_end]).into_owned(),
                        virtual_size: u32_at(h, 8, "section header")?,
                        virtual_address: u32_at(h, 12, "section header")?,
                        raw_size: u32_at(h, 16, "section header")?,
                        raw_offset: u32_at(h, 20, "section header")?,
                        characteristics: u32_at(h, 36, "section header")?,
                    })
                })
                .collect::<Result<Vec<_>, PeError>>()?;
            Ok(Pe {
                data,
                machine,
                file_characteristics,
                entry_point,
                image_base,
                subsystem,
                dll_characteristics,
                directories,
                sections,
            })
        }

        /// The data directory `index` as (RVA, size); (0, 0) when absent.
        pub fn directory(&self, index: usize) -> (u32, u32) {
            self.directories.get(index).copied().unwrap_or((0, 0))
        }

        /// The section called exactly `name`.
        pub fn section(&self, name: &str) -> Option<&Section> {
            self.sections.iter().find(|s| s.name == name)
        }

        /// The sections whose name starts with `prefix` (e.g. `PAGE`).
        pub fn sections_with_prefix<'s>(&'s self, prefix: &'s str) -> impl Iterator<Item = &'s Section> + 's {
            self.sections.iter().filter(move |s| s.name.starts_with(prefix))
        }

        /// The section that holds `rva`.
        pub fn section_of_rva(&self, rva: u32) -> Option<&Section> {
            self.sections.iter().find(|s| s.contains_rva(rva))
        }

        /// The file offset of `rva` (which must lie in a section's raw data).
        pub fn rva_to_offset(&self, rva: u32, what: &'static str) -> Result<usize, PeError> {
            let s = self
                .sections
                .iter()
                .find(|s| rva >= s.virtual_address && rva - s.virtual_address < s.raw_size)
                .ok_or(PeError::BadRva { what, rva })?;
            Ok(s.raw_offset as usize + (rva - s.virtual_address) as usize)
        }

        /// `len` bytes at `rva`.
        pub fn bytes_at_rva(&self, rva: u32, len: usize, what: &'static str) -> Result<&'a [u8], PeError> {
            bytes(self.data, self.rva_to_offset(rva, what)?, len, what)
        }

        fn u16_rva(&self, rva: u32, what: &'static str) -> Result<u16, PeError> {
            u16_at(self.data, self.rva_to_offset(rva, what)?, what)
        }
        fn u32_rva(&self, rva: u32, what: &'static str) -> Result<u32, PeError> {
            u32_at(self.data, self.rva_to_offset(rva, what)?, what)
        }
        fn u64_rva(&self, rva: u32, what: &'static str) -> Result<u64, PeError> {
            u64_at(self.data, self.rva_to_offset(rva, what)?, what)
        }

        /// The NUL-terminated ASCII string at `rva`.
        pub fn c_string_at_rva(&self, rva: u32, what: &'static str) -> Result<String, PeError> {
            let start = self.rva_to_offset(rva, what)?;
            let tail = self.data.get(start..).unwrap_or(&[]);
            let len = tail.iter().take(4096).position(|&b| b == 0).ok_or(PeError::Truncated {
                what,
                offset: start,
                len: tail.len() + 1,
            })?;
            Ok(String::from_utf8_lossy(&tail[..len]).into_owned())
        }

        /// The import table.
        pub fn imports(&self) -> Result<Vec<Import>, PeError> {
            let (rva, size) = self.directory(DIR_IMPORT);
            if rva == 0 || size == 0 {
                return Ok(Vec::new());
            }
            let mut imports = Vec::new();
            for i in 0u32.. {
                let descriptor = rva
                    .checked_add(i.checked_mul(20).ok_or_else(|| PeError::Malformed("import table".into()))?)
                    .ok_or_else(|| PeError::Malformed("import table".into()))?;
                let d = self.bytes_at_rva(descriptor, 20, "import descriptor")?;
                if d.iter().all(|&b| b == 0) {
                    break;
                }
                if i > 4096 {
                    return Err(PeError::Malformed("import table has no terminator".into()));
                }
                let lookup = u32_at(d, 0, "import descriptor")?;
                let name = u32_at(d, 12, "import descriptor")?;
                let iat = u32_at(d, 16, "import descriptor")?;
                let dll = self.c_string_at_rva(name, "import DLL name")?;
                let mut thunk = if lookup != 0 { lookup } else { iat };
                let mut symbols = Vec::new();
                loop {
                    let entry = self.u64_rva(thunk, "import thunk")?;
                    if entry == 0 {
                        break;
                    }
                    if symbols.len() > 65536 {
                        return Err(PeError::Malformed(format!("import thunks of {dll} never end")));
                    }
                    symbols.push(if entry & (1 << 63) != 0 {
                        ImportedSymbol::Ordinal(entry as u16)
                    } else {
                        let hint_name = u32::try_from(entry & 0x7fff_ffff)
                            .map_err(|_| PeError::Malformed("import thunk".into()))?;
                        ImportedSymbol::Name(self.c_string_at_rva(hint_name + 2, "import name")?)
                    });
                    thunk = thunk.checked_add(8).ok_or_else(|| PeError::Malformed("import thunks".into()))?;
                }
                imports.push(Import { dll, symbols });
            }
            Ok(imports)
        }

        /// The named exports.
        pub fn exports(&self) -> Result<Vec<Export>, PeError> {
            let (rva, size) = self.directory(DIR_EXPORT);
            if rva == 0 || size == 0 {
                return Ok(Vec::new());
            }
            let dir = self.bytes_at_rva(rva, 40, "export directory")?;
            let function_count = u32_at(dir, 20, "export directory")?;
            let name_count = u32_at(dir, 24, "export directory")?;
            let functions = u32_at(dir, 28, "export directory")?;
            let names = u32_at(dir, 32, "export directory")?;
            let ordinals = u32_at(dir, 36, "export directory")?;
            if name_count > 65536 || function_count > 65536 {
                return Err(PeError::Malformed(format!("{name_count} export names")));
            }
            (0..name_count)
                .map(|i| {
                    let name_rva = self.u32_rva(names + 4 * i, "export name pointer")?;
                    let ordinal = self.u16_rva(ordinals + 2 * i, "export ordinal")?;
                    if u32::from(ordinal) >= function_count {
                        return Err(PeError::Malformed(format!("export ordinal {ordinal}")));
                    }
                    Ok(Export {
                        name: self.c_string_at_rva(name_rva, "export name")?,
                        rva: self.u32_rva(functions + 4 * u32::from(ordinal), "export address")?,
                    })
                })
                .collect()
        }

        /// The RVA of the export `name`.
        pub fn export_rva(&self, name: &str) -> Result<Option<u32>, PeError> {
            Ok(self.exports()?.into_iter().find(|e| e.name == name).map(|e| e.rva))
        }

        /// The number of base relocations, padding (`IMAGE_REL_BASED_ABSOLUTE`)
        /// excluded, after checking every block's bounds.
        pub fn base_relocation_count(&self) -> Result<usize, PeError> {
            let (rva, size) = self.directory(DIR_BASERELOC);
            if rva == 0 || size == 0 {
                return Ok(0);
            }
            let table = self.bytes_at_rva(rva, size as usize, "base relocation directory")?;
            let mut offset = 0usize;
            let mut count = 0;
            while offset + 8 <= table.len() {
                let block_size = u32_at(table, offset + 4, "base relocation block")? as usize;
                if block_size < 8 || offset + block_size > table.len() || block_size % 2 != 0 {
                    return Err(PeError::Malformed(format!("base relocation block of {block_size} bytes")));
                }
                for entry in (offset + 8..offset + block_size).step_by(2) {
                    if u16_at(table, entry, "base relocation")? >> 12 != 0 {
                        count += 1;
                    }
                }
                offset += block_size;
            }
            Ok(count)
        }
    }

    /// The RVA of `symbol` in an lld-link/link.exe map file
    /// ("Publics by Value": `sss:oooooooo  name  Rva+Base  object`).
    pub fn map_symbol_rva(map: &str, symbol: &str) -> Option<u32> {
        let base = map.lines().find_map(|l| {
            let hex = l.trim().strip_prefix("Preferred load address is ")?;
            u64::from_str_radix(hex.trim(), 16).ok()
        })?;
        map.lines().find_map(|l| {
            let mut words = l.split_whitespace();
            let _address = words.next()?;
            if words.next()? != symbol {
                return None;
            }
            let va = u64::from_str_radix(words.next()?, 16).ok()?;
            u32::try_from(va.checked_sub(base)?).ok()
        })
    }
}

// ---------------------------------------------------------------------------
// The sample driver image.

/// The repository root.
fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Whether the end-to-end artefacts are mandatory (CI).
fn required() -> bool {
    std::env::var("WDM_MEM_REQUIRE_E2E").is_ok_and(|v| v == "1")
}

/// The built image and its map file, or `None` to skip (with a note).
struct Image {
    bytes: Vec<u8>,
    map: Option<String>,
}

fn build_driver() -> Option<Image> {
    let root = root();
    let sys = root.join("target/sample/wdm_mem_sample.sys");
    let skip = |why: String| -> Option<Image> {
        if required() {
            panic!("WDM_MEM_REQUIRE_E2E=1 but {why}");
        }
        eprintln!("note: skipping the PE checks of the sample driver: {why}");
        None
    };
    if std::env::var("WDM_MEM_SKIP_E2E").is_ok_and(|v| v == "1") && !required() {
        return skip("WDM_MEM_SKIP_E2E=1".into());
    }
    let script = root.join("scripts/build-driver.sh");
    let output = Command::new("bash")
        .arg(&script)
        .arg("--driver-only")
        .current_dir(&root)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    let log = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    match output.status.code() {
        Some(0) => {}
        Some(3) => {
            return skip(format!("the cross toolchain is missing (scripts/setup.sh):\n{log}"));
        }
        _ => panic!("scripts/build-driver.sh --driver-only failed ({}):\n{log}", output.status),
    }
    match std::fs::read(&sys) {
        Ok(bytes) => Some(Image { bytes, map: read_map(&root) }),
        Err(e) => skip(format!("{} cannot be read: {e}", sys.display())),
    }
}

fn read_map(root: &Path) -> Option<String> {
    std::fs::read_to_string(root.join("target/sample/wdm_mem_sample.map")).ok()
}

/// Builds the driver once per test binary.
fn image() -> Option<&'static Image> {
    static IMAGE: OnceLock<Option<Image>> = OnceLock::new();
    IMAGE.get_or_init(build_driver).as_ref()
}

/// Runs `check` on the parsed driver image, unless skipped.
fn with_driver(check: impl FnOnce(&Pe<'_>, Option<&str>)) {
    let Some(image) = image() else { return };
    let pe = Pe::parse(&image.bytes).unwrap_or_else(|e| panic!("wdm_mem_sample.sys: {e}"));
    check(&pe, image.map.as_deref());
}

#[test]
fn driver_is_an_amd64_native_image() {
    with_driver(|pe, _| {
        assert_eq!(pe.machine, 0x8664, "IMAGE_FILE_MACHINE_AMD64");
        assert_eq!(pe.subsystem, pe::IMAGE_SUBSYSTEM_NATIVE, "Subsystem must be NATIVE (1)");
    });
}

#[test]
fn entry_point_is_driver_entry() {
    with_driver(|pe, map| {
        let from_exports = pe.export_rva("DriverEntry").expect("export table");
        let from_map = map.and_then(|m| pe::map_symbol_rva(m, "DriverEntry"));
        let rva =
            from_exports.or(from_map).expect("DriverEntry is neither exported nor in target/sample/wdm_mem_sample.map");
        if let (Some(e), Some(m)) = (from_exports, from_map) {
            assert_eq!(e, m, "the export and the map disagree on DriverEntry");
        }
        assert_eq!(pe.entry_point, rva, "AddressOfEntryPoint must be DriverEntry");
        let text = pe.section_of_rva(rva).expect("DriverEntry lies in no section");
        assert!(text.has(IMAGE_SCN_MEM_EXECUTE), "DriverEntry is in non-executable {}", text.name);
    });
}

#[test]
fn imports_only_from_the_kernel() {
    with_driver(|pe, _| {
        let imports = pe.imports().expect("import table");
        assert!(!imports.is_empty(), "a driver imports from ntoskrnl.exe");
        for import in &imports {
            assert!(
                import.dll.eq_ignore_ascii_case("ntoskrnl.exe") || import.dll.eq_ignore_ascii_case("hal.dll"),
                "imports from {}: {:?}",
                import.dll,
                import.symbols
            );
        }
    });
}

#[test]
fn newer_kernel_exports_are_not_imported_statically() {
    // Resolved at run time with MmGetSystemRoutineAddress (absent from older
    // Windows and from Wine): a static import would make the image unloadable.
    const RUNTIME_ONLY: &[&str] = &[
        "ExAllocatePool2",
        "ExAllocatePool3",
        "ExInitializeLookasideListEx",
        "ExDeleteLookasideListEx",
        "MmMapIoSpaceEx",
        // A data export (wdm.h reads it); Wine 8 has only a stub function.
        "MmUserProbeAddress",
        "MmMapViewInSystemSpace",
        "MmUnmapViewInSystemSpace",
        "MmSectionObjectType",
        "ZwQuerySection",
        // Wine 8 has stubs of both; the crate recognises Wine and never calls them.
        "MmSecureVirtualMemory",
        "MmUnsecureVirtualMemory",
    ];
    with_driver(|pe, _| {
        for import in pe.imports().expect("import table") {
            for symbol in &import.symbols {
                if let pe::ImportedSymbol::Name(name) = symbol {
                    assert!(!RUNTIME_ONLY.contains(&name.as_str()), "{name} is imported from {}", import.dll);
                }
            }
        }
    });
}

#[test]
fn nx_compatible_and_relocatable() {
    with_driver(|pe, _| {
        let dc = pe.dll_characteristics;
        assert_ne!(dc & pe::IMAGE_DLLCHARACTERISTICS_NX_COMPAT, 0, "NX_COMPAT missing ({dc:#x})");
        assert_ne!(dc & pe::IMAGE_DLLCHARACTERISTICS_DYNAMIC_BASE, 0, "DYNAMIC_BASE missing ({dc:#x})");
        let relocations = pe.base_relocation_count().expect("base relocation directory");
        assert!(relocations > 0, "no base relocations: the image cannot be moved (Wine relocates it)");
    });
}

#[test]
fn no_section_is_writable_and_executable() {
    with_driver(|pe, _| {
        for s in &pe.sections {
            assert!(!s.is_writable_and_executable(), "section {} is W+X ({:#x})", s.name, s.characteristics);
        }
    });
}

#[test]
fn pageable_data_lies_in_a_writable_pageable_section() {
    // The sample's `pageable_static!` (paging_ioctl.rs) goes to PAGEDATA. The
    // loader makes PAGE* sections pageable; lld-link must not mark them
    // IMAGE_SCN_MEM_NOT_PAGED (nor discardable), and they must stay
    // writable and not executable (a read-only static placed in the same
    // section by hand would make LLVM emit the whole section read-only).
    with_driver(|pe, _| {
        // (`PAGE` itself is pageable_fn! code: the test below.)
        let pageable: Vec<_> = pe.sections_with_prefix("PAGE").filter(|s| s.name != "PAGE").collect();
        let names: Vec<&str> = pe.sections.iter().map(|s| s.name.as_str()).collect();
        assert!(
            pageable.iter().any(|s| s.name == "PAGEDATA"),
            "no PAGEDATA section (pageable_static! data): {names:?}"
        );
        for s in pageable {
            assert!(s.is_pageable(), "{} is not pageable ({:#x})", s.name, s.characteristics);
            assert!(
                s.has(pe::IMAGE_SCN_MEM_READ | pe::IMAGE_SCN_MEM_WRITE) && !s.has(IMAGE_SCN_MEM_EXECUTE),
                "{} is not read-write data ({:#x})",
                s.name,
                s.characteristics
            );
        }
    });
}

#[test]
fn pageable_code_lies_in_a_pageable_code_section() {
    // The sample's `pageable_fn!` (page_code_ioctl.rs) goes to PAGE: code,
    // executable and readable, not writable, pageable (not NOT_PAGED).
    with_driver(|pe, _| {
        let names: Vec<&str> = pe.sections.iter().map(|s| s.name.as_str()).collect();
        let page =
            pe.sections.iter().find(|s| s.name == "PAGE").unwrap_or_else(|| panic!("no PAGE section: {names:?}"));
        assert!(page.is_pageable(), "PAGE is not pageable ({:#x})", page.characteristics);
        assert!(
            page.has(pe::IMAGE_SCN_CNT_CODE | IMAGE_SCN_MEM_EXECUTE | pe::IMAGE_SCN_MEM_READ)
                && !page.has(pe::IMAGE_SCN_MEM_WRITE),
            "PAGE is not read-only code ({:#x})",
            page.characteristics
        );
    });
}

#[test]
fn init_data_lies_in_a_discardable_init_section() {
    // The sample's `init_static!` (routines_ioctl.rs) goes to INIT; the
    // sample links with /SECTION:INIT,RWD, so that the loader discards it
    // once DriverEntry returns (lld-link gives the name no meaning).
    with_driver(|pe, _| {
        let names: Vec<&str> = pe.sections.iter().map(|s| s.name.as_str()).collect();
        let init =
            pe.sections.iter().find(|s| s.name == "INIT").unwrap_or_else(|| panic!("no INIT section: {names:?}"));
        assert!(init.has(pe::IMAGE_SCN_MEM_DISCARDABLE), "INIT is not discardable ({:#x})", init.characteristics);
        assert!(
            init.has(pe::IMAGE_SCN_MEM_READ | pe::IMAGE_SCN_MEM_WRITE) && !init.has(IMAGE_SCN_MEM_EXECUTE),
            "INIT is not read-write data ({:#x})",
            init.characteristics
        );
    });
}

// ---------------------------------------------------------------------------
// The parser itself, on images that exist without the cross build.

/// A minimal PE32+ image: headers + one section `.rdata` at RVA 0x1000 that
/// holds an export of `DriverEntry`, an import of `DbgPrint` from
/// `ntoskrnl.exe`, and one base-relocation block.
fn synthetic_image() -> Vec<u8> {
    let mut f = vec![0u8; 0x400];
    let put16 = |f: &mut Vec<u8>, o: usize, v: u16| f[o..o + 2].copy_from_slice(&v.to_le_bytes());
    let put32 = |f: &mut Vec<u8>, o: usize, v: u32| f[o..o + 4].copy_from_slice(&v.to_le_bytes());
    let put64 = |f: &mut Vec<u8>, o: usize, v: u64| f[o..o + 8].copy_from_slice(&v.to_le_bytes());
    f[0..2].copy_from_slice(b"MZ");
    put32(&mut f, 0x3c, 0x40);
    f[0x40..0x44].copy_from_slice(b"PE\0\0");
    let coff = 0x44;
    put16(&mut f, coff, 0x8664);
    put16(&mut f, coff + 2, 1); // sections
    put16(&mut f, coff + 16, 240); // optional header size
    put16(&mut f, coff + 18, 0x0022);
    let opt = coff + 20;
    put16(&mut f, opt, 0x20b);
    put32(&mut f, opt + 16, 0x1000); // entry point = DriverEntry below
    put64(&mut f, opt + 24, 0x1_4000_0000);
    put16(&mut f, opt + 68, 1);
    put16(&mut f, opt + 70, 0x0160);
    put32(&mut f, opt + 108, 16);
    let dir = |i: usize| opt + 112 + i * 8;
    put32(&mut f, dir(0), 0x1000);
    put32(&mut f, dir(0) + 4, 0x60);
    put32(&mut f, dir(1), 0x1100);
    put32(&mut f, dir(1) + 4, 40);
    put32(&mut f, dir(5), 0x1300);
    put32(&mut f, dir(5) + 4, 12);
    let sh = opt + 240;
    f[sh..sh + 6].copy_from_slice(b".rdata");
    put32(&mut f, sh + 8, 0x400); // virtual size
    put32(&mut f, sh + 12, 0x1000); // RVA
    put32(&mut f, sh + 16, 0x400); // raw size
    put32(&mut f, sh + 20, 0x400); // raw offset
    put32(&mut f, sh + 36, pe::IMAGE_SCN_MEM_READ | 0x40);
    f.resize(0x800, 0);
    let at = |rva: u32| (rva - 0x1000 + 0x400) as usize;
    // Export directory at 0x1000: 1 function, 1 name.
    put32(&mut f, at(0x1000) + 20, 1);
    put32(&mut f, at(0x1000) + 24, 1);
    put32(&mut f, at(0x1000) + 28, 0x1040); // functions
    put32(&mut f, at(0x1000) + 32, 0x1044); // names
    put32(&mut f, at(0x1000) + 36, 0x1048); // ordinals
    put32(&mut f, at(0x1040), 0x1000);
    put32(&mut f, at(0x1044), 0x1050);
    f[at(0x1050)..at(0x1050) + 12].copy_from_slice(b"DriverEntry\0");
    // Import descriptor at 0x1100 (+ terminator), lookup table at 0x1200.
    put32(&mut f, at(0x1100), 0x1200);
    put32(&mut f, at(0x1100) + 12, 0x1280);
    put32(&mut f, at(0x1100) + 16, 0x1200);
    put64(&mut f, at(0x1200), 0x1240);
    f[at(0x1242)..at(0x1242) + 9].copy_from_slice(b"DbgPrint\0");
    f[at(0x1280)..at(0x1280) + 13].copy_from_slice(b"ntoskrnl.exe\0");
    // Base relocations at 0x1300: one DIR64 entry and one padding entry.
    put32(&mut f, at(0x1300), 0x1000);
    put32(&mut f, at(0x1300) + 4, 12);
    put16(&mut f, at(0x1300) + 8, 0xA008);
    f
}

#[test]
fn parser_reads_a_synthetic_image() {
    let image = synthetic_image();
    let pe = Pe::parse(&image).expect("synthetic image");
    assert_eq!(pe.subsystem, 1);
    assert_eq!(pe.dll_characteristics, 0x160);
    assert_eq!(pe.export_rva("DriverEntry"), Ok(Some(0x1000)));
    assert_eq!(pe.export_rva("Nope"), Ok(None));
    let imports = pe.imports().unwrap();
    assert_eq!(imports.len(), 1);
    assert_eq!(imports[0].dll, "ntoskrnl.exe");
    assert_eq!(imports[0].symbols, vec![pe::ImportedSymbol::Name("DbgPrint".into())]);
    assert_eq!(pe.base_relocation_count(), Ok(1));
    let rdata = pe.section(".rdata").unwrap();
    assert!(rdata.is_pageable() && !rdata.is_writable_and_executable());
    assert_eq!(pe.sections_with_prefix("PAGE").count(), 0);
    assert_eq!(pe.section_of_rva(0x1234).map(|s| s.name.as_str()), Some(".rdata"));
}

#[test]
fn parser_rejects_truncated_and_corrupt_input_without_panicking() {
    let image = synthetic_image();
    // Every prefix of the headers (DOS, PE, COFF, optional, one section
    // header) is an error, never a panic.
    const HEADERS_END: usize = 0x44 + 20 + 240 + 40;
    for len in 0..HEADERS_END {
        let result = Pe::parse(&image[..len]);
        assert!(result.is_err(), "a {len}-byte prefix parsed");
    }
    assert!(Pe::parse(&image[..HEADERS_END]).is_ok());
    assert!(matches!(Pe::parse(b"MZ"), Err(pe::PeError::Truncated { .. })));
    assert_eq!(Pe::parse(b"ZM\0\0").unwrap_err(), pe::PeError::BadMagic("DOS header is not MZ"));
    let mut bad = image.clone();
    bad[0x3c..0x40].copy_from_slice(&0xffff_fff0u32.to_le_bytes());
    assert!(matches!(Pe::parse(&bad), Err(pe::PeError::Truncated { .. })));
    let mut pe32 = image.clone();
    pe32[0x44 + 20] = 0x0b;
    pe32[0x44 + 21] = 0x01;
    assert_eq!(Pe::parse(&pe32).unwrap_err(), pe::PeError::BadMagic("optional header is not PE32+"));
    // Headers intact but the section data cut off: tables fail cleanly.
    let cut = Pe::parse(&image[..0x500]).expect("headers are complete");
    assert!(cut.imports().is_err());
    assert!(cut.exports().is_ok(), "the export table lies in the first 0x100 bytes");
    assert!(cut.base_relocation_count().is_err());
    // A table RVA outside every section.
    let mut stray = image.clone();
    stray[0x44 + 20 + 112 + 8..0x44 + 20 + 112 + 12].copy_from_slice(&0x9000u32.to_le_bytes());
    assert_eq!(
        Pe::parse(&stray).unwrap().imports().unwrap_err(),
        pe::PeError::BadRva { what: "import descriptor", rva: 0x9000 }
    );
    // A relocation block whose size runs past the directory.
    let mut block = image;
    let at = 0x400 + 0x300 + 4;
    block[at..at + 4].copy_from_slice(&64u32.to_le_bytes());
    assert!(matches!(Pe::parse(&block).unwrap().base_relocation_count(), Err(pe::PeError::Malformed(_))));
}

#[test]
fn map_file_lookup() {
    let map = " x\n\n Preferred load address is 0000000140000000\n\n  Address  Publics by Value  Rva+Base  Lib:Object\n\n \
               0001:00000000       DriverEntry                0000000140001000     a.o\n \
               0001:00000010       Other                      0000000140001010     a.o\n";
    assert_eq!(pe::map_symbol_rva(map, "DriverEntry"), Some(0x1000));
    assert_eq!(pe::map_symbol_rva(map, "Other"), Some(0x1010));
    assert_eq!(pe::map_symbol_rva(map, "Missing"), None);
    assert_eq!(pe::map_symbol_rva("no base here", "DriverEntry"), None);
}

#[test]
fn parser_reads_wines_ntoskrnl_when_installed() {
    // A real PE32+ built by someone else; present when Wine is installed.
    let path = Path::new("/usr/lib/x86_64-linux-gnu/wine/x86_64-windows/ntoskrnl.exe");
    let Ok(bytes) = std::fs::read(path) else {
        eprintln!("note: {} absent, parser check on a real image skipped", path.display());
        return;
    };
    let pe = Pe::parse(&bytes).expect("Wine's ntoskrnl.exe");
    assert_eq!(pe.machine, 0x8664);
    let exports = pe.exports().expect("exports");
    assert!(exports.iter().any(|e| e.name == "ExAllocatePoolWithTag"));
    assert!(exports.iter().any(|e| e.name == "MmGetSystemRoutineAddress"));
    assert!(!exports.iter().any(|e| e.name == "ExAllocatePool2"), "Wine 8 has no ExAllocatePool2");
    let imports = pe.imports().expect("imports");
    assert!(imports.iter().any(|i| i.dll.eq_ignore_ascii_case("ntdll.dll")));
    assert!(pe.base_relocation_count().expect("relocations") > 0);
}

#[test]
fn the_seh_shim_is_real_x64_seh_handled_by_the_kernel() {
    // src/sys/seh/probe.c: MmProbeAndLockPages, the user-memory copies
    // (ProbeForRead/ProbeForWrite and the copy) and the user-mode mapping
    // under __try/__except. Each one's RUNTIME_FUNCTION must survive the link (a GNU-target .pdata COMDAT
    // would not, under /OPT:REF), have an exception handler, and that
    // handler must be lld-link's thunk to the import of __C_specific_handler
    // from ntoskrnl.exe.
    const UNW_FLAG_EHANDLER: u8 = 1;
    const DIR_EXCEPTION: usize = 3;
    let u32_le = |bytes: &[u8]| u32::from_le_bytes(bytes[..4].try_into().unwrap());
    with_driver(|pe, map| {
        let map = map.expect("the map file names the shim");
        let slot = pe::map_symbol_rva(map, "__imp___C_specific_handler").expect("an IAT slot for __C_specific_handler");
        let (rva, size) = pe.directory(DIR_EXCEPTION);
        let table = pe.bytes_at_rva(rva, size as usize, "exception directory").expect(".pdata");
        for name in ["wdm_mem_probe_and_lock_pages", "wdm_mem_copy_user", "wdm_mem_map_locked_pages_user"] {
            let shim = pe::map_symbol_rva(map, name).unwrap_or_else(|| panic!("{name} is linked in"));
            let function =
                table.chunks_exact(12).find(|entry| u32_le(entry) == shim).expect("a RUNTIME_FUNCTION for the shim");
            let unwind = u32_le(&function[8..]);
            let header = pe.bytes_at_rva(unwind, 4, "UNWIND_INFO").expect("unwind info");
            assert_ne!((header[0] >> 3) & UNW_FLAG_EHANDLER, 0, "{name}'s unwind info has no exception handler");
            let codes = usize::from(header[2]).next_multiple_of(2);
            let handler_at = unwind + 4 + 2 * codes as u32;
            let handler = u32_le(pe.bytes_at_rva(handler_at, 4, "exception handler RVA").expect("handler"));
            let thunk = pe.bytes_at_rva(handler, 6, "handler thunk").expect("thunk");
            assert_eq!(thunk[..2], [0xFF, 0x25], "{name}: the handler is not an import thunk (jmp [rip+disp32])");
            let target = (handler + 6).wrapping_add(u32_le(&thunk[2..]));
            assert_eq!(target, slot, "{name}: the thunk does not jump through __imp___C_specific_handler");
        }
        let imports = pe.imports().expect("import table");
        let ntoskrnl = imports.iter().find(|i| i.dll.eq_ignore_ascii_case("ntoskrnl.exe")).expect("ntoskrnl.exe");
        assert!(ntoskrnl.symbols.contains(&pe::ImportedSymbol::Name("__C_specific_handler".into())));
    });
}
