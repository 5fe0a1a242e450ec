//! Whether the agent runs in a confidential VM, found the way systemd's
//! `ConditionSecurity=cvm` finds it: on x86 under a hypervisor, an AMD
//! CPU's SEV bits (CPUID `0x8000001f`, then the `SEV_STATUS` MSR) or an
//! Intel CPU's TDX signature (CPUID `0x21`).  The machine is read through
//! [`Platform`], so tests can give it any kind of machine.

use std::fmt;

/// What [`detect`] needs from the machine.
pub trait Platform {
    /// CPUID of `leaf` and `subleaf`: `[eax, ebx, ecx, edx]`, `None` on a
    /// machine without CPUID.
    fn cpuid(&self, leaf: u32, subleaf: u32) -> Option<[u32; 4]>;
    /// Model-specific register `index` of CPU 0, `None` if it cannot be
    /// read.
    fn msr(&self, index: u32) -> Option<u64>;
}

/// A kind of confidential VM.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// AMD Secure Encrypted Virtualization.
    Sev,
    /// AMD SEV with Encrypted State.
    SevEs,
    /// AMD SEV with Secure Nested Paging.
    SevSnp,
    /// Intel Trust Domain Extensions.
    Tdx,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Sev => "AMD SEV",
            Kind::SevEs => "AMD SEV-ES",
            Kind::SevSnp => "AMD SEV-SNP",
            Kind::Tdx => "Intel TDX",
        })
    }
}

/// CPUID leaf 1, ECX: a hypervisor is present.
const HYPERVISOR_BIT: u32 = 1 << 31;
/// The highest extended CPUID leaf is asked of this one.
const EXTENDED_LEAVES: u32 = 0x8000_0000;
/// AMD's encrypted memory capabilities; EAX bit 1: SEV.
const AMD_MEMORY_ENCRYPTION: u32 = 0x8000_001f;
const AMD_SEV_BIT: u32 = 1 << 1;
/// AMD's `SEV_STATUS` MSR and its bits.
const MSR_AMD64_SEV: u32 = 0xc001_0131;
const MSR_SEV: u64 = 1 << 0;
const MSR_SEV_ES: u64 = 1 << 1;
const MSR_SEV_SNP: u64 = 1 << 2;
/// Intel's TDX enumeration leaf.
const INTEL_TDX_LEAF: u32 = 0x21;

/// The 12-byte signature in EBX, EDX, ECX (the vendor's order).
fn signature(regs: [u32; 4]) -> [u8; 12] {
    let mut out = [0; 12];
    out[..4].copy_from_slice(&regs[1].to_le_bytes());
    out[4..8].copy_from_slice(&regs[3].to_le_bytes());
    out[8..].copy_from_slice(&regs[2].to_le_bytes());
    out
}

fn amd(platform: &dyn Platform) -> Option<Kind> {
    let highest = platform.cpuid(EXTENDED_LEAVES, 0)?[0];
    if highest < AMD_MEMORY_ENCRYPTION {
        return None;
    }
    if platform.cpuid(AMD_MEMORY_ENCRYPTION, 0)?[0] & AMD_SEV_BIT == 0 {
        return None;
    }
    // SNP implies ES implies SEV: the strongest bit set names it.
    let status = platform.msr(MSR_AMD64_SEV).unwrap_or(0);
    [
        (MSR_SEV_SNP, Kind::SevSnp),
        (MSR_SEV_ES, Kind::SevEs),
        (MSR_SEV, Kind::Sev),
    ]
    .into_iter()
    .find(|(bit, _)| status & bit != 0)
    .map(|(_, kind)| kind)
}

fn intel(platform: &dyn Platform) -> Option<Kind> {
    if platform.cpuid(0, 0)?[0] < INTEL_TDX_LEAF {
        return None;
    }
    (signature(platform.cpuid(INTEL_TDX_LEAF, 0)?) == *b"IntelTDX    ").then_some(Kind::Tdx)
}

/// The kind of confidential VM this is, `None` for an ordinary VM or
/// bare metal.
pub fn detect(platform: &dyn Platform) -> Option<Kind> {
    let features = platform.cpuid(1, 0)?;
    if features[2] & HYPERVISOR_BIT == 0 {
        return None;
    }
    match &signature(platform.cpuid(0, 0)?) {
        b"AuthenticAMD" => amd(platform),
        b"GenuineIntel" => intel(platform),
        _ => None,
    }
}

/// The machine the agent runs on.
#[derive(Clone, Copy, Debug, Default)]
pub struct ThisMachine;

impl Platform for ThisMachine {
    #[cfg(target_arch = "x86_64")]
    fn cpuid(&self, leaf: u32, subleaf: u32) -> Option<[u32; 4]> {
        // SAFETY: CPUID exists on every x86_64 CPU and only reads (the
        // intrinsic is safe from Rust 1.87 on).
        #[allow(unused_unsafe)]
        let r = unsafe { std::arch::x86_64::__cpuid_count(leaf, subleaf) };
        Some([r.eax, r.ebx, r.ecx, r.edx])
    }

    #[cfg(not(target_arch = "x86_64"))]
    fn cpuid(&self, _leaf: u32, _subleaf: u32) -> Option<[u32; 4]> {
        None
    }

    fn msr(&self, index: u32) -> Option<u64> {
        use std::os::unix::fs::FileExt;
        let file = std::fs::File::open("/dev/cpu/0/msr").ok()?;
        let mut value = [0u8; 8];
        file.read_exact_at(&mut value, u64::from(index)).ok()?;
        Some(u64::from_le_bytes(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// A machine made of CPUID answers and MSR values.
    #[derive(Default)]
    struct Fake {
        cpuid: HashMap<(u32, u32), [u32; 4]>,
        msr: HashMap<u32, u64>,
    }

    impl Platform for Fake {
        fn cpuid(&self, leaf: u32, subleaf: u32) -> Option<[u32; 4]> {
            Some(
                self.cpuid
                    .get(&(leaf, subleaf))
                    .copied()
                    .unwrap_or_default(),
            )
        }
        fn msr(&self, index: u32) -> Option<u64> {
            self.msr.get(&index).copied()
        }
    }

    /// [eax, ebx, ecx, edx] with a 12-byte signature in EBX, EDX, ECX.
    fn sig(eax: u32, text: &[u8; 12]) -> [u32; 4] {
        let word = |i: usize| u32::from_le_bytes(text[i..i + 4].try_into().unwrap());
        [eax, word(0), word(8), word(4)]
    }

    fn vm(vendor: &[u8; 12], max_leaf: u32) -> Fake {
        let mut fake = Fake::default();
        fake.cpuid.insert((0, 0), sig(max_leaf, vendor));
        fake.cpuid.insert((1, 0), [0, 0, HYPERVISOR_BIT, 0]);
        fake
    }

    fn amd_vm(sev_bit: bool, status: Option<u64>) -> Fake {
        let mut fake = vm(b"AuthenticAMD", 0x10);
        fake.cpuid
            .insert((EXTENDED_LEAVES, 0), [AMD_MEMORY_ENCRYPTION, 0, 0, 0]);
        fake.cpuid.insert(
            (AMD_MEMORY_ENCRYPTION, 0),
            [if sev_bit { AMD_SEV_BIT | 1 } else { 1 }, 0, 0, 0],
        );
        if let Some(s) = status {
            fake.msr.insert(MSR_AMD64_SEV, s);
        }
        fake
    }

    #[test]
    fn every_kind_of_machine() {
        assert_eq!(detect(&amd_vm(true, Some(0b001))), Some(Kind::Sev));
        assert_eq!(detect(&amd_vm(true, Some(0b011))), Some(Kind::SevEs));
        assert_eq!(detect(&amd_vm(true, Some(0b111))), Some(Kind::SevSnp));
        // SEV offered by the CPU but not in force, or the MSR unreadable.
        assert_eq!(detect(&amd_vm(true, Some(0))), None);
        assert_eq!(detect(&amd_vm(true, None)), None);
        assert_eq!(detect(&amd_vm(false, Some(0b111))), None);
        let mut tdx = vm(b"GenuineIntel", 0x23);
        tdx.cpuid
            .insert((INTEL_TDX_LEAF, 0), sig(0, b"IntelTDX    "));
        assert_eq!(detect(&tdx), Some(Kind::Tdx));
        // An Intel VM without TDX, or a CPU too old to have the leaf.
        assert_eq!(detect(&vm(b"GenuineIntel", 0x23)), None);
        let mut old = vm(b"GenuineIntel", 0x0d);
        old.cpuid
            .insert((INTEL_TDX_LEAF, 0), sig(0, b"IntelTDX    "));
        assert_eq!(detect(&old), None);
        // Bare metal: nothing, whatever the registers say.
        let mut metal = amd_vm(true, Some(0b111));
        metal.cpuid.insert((1, 0), [0; 4]);
        assert_eq!(detect(&metal), None);
        // Another vendor, or no CPUID at all.
        assert_eq!(detect(&vm(b"HygonGenuine", 0x10)), None);
        struct NoCpuid;
        impl Platform for NoCpuid {
            fn cpuid(&self, _: u32, _: u32) -> Option<[u32; 4]> {
                None
            }
            fn msr(&self, _: u32) -> Option<u64> {
                None
            }
        }
        assert_eq!(detect(&NoCpuid), None);
    }
}
