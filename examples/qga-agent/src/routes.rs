//! `guest-network-get-route`: the kernel's routing tables
//! (`/proc/net/route`, then `/proc/net/ipv6_route`) read field by field
//! as qemu-ga reads them.  IPv6 numbers are read into C `int`s, so a flag
//! word with the top bit set comes out sign-extended, as qemu-ga reports
//! it.

use std::net::{Ipv4Addr, Ipv6Addr};

use qapi_runtime::Error;

use crate::errno_text;
use crate::qga::GuestNetworkRoute;

/// An IPv4 address as `/proc/net/route` writes it: host byte order hex.
fn ipv4(hex: &str) -> Option<String> {
    let value = u32::from_str_radix(hex, 16).ok()?;
    Some(Ipv4Addr::from(value.to_le_bytes()).to_string())
}

/// An IPv6 address as `/proc/net/ipv6_route` writes it: 32 hex digits.
fn ipv6(hex: &str) -> Option<String> {
    if hex.len() != 32 {
        return None;
    }
    let value = u128::from_str_radix(hex, 16).ok()?;
    Some(Ipv6Addr::from(value).to_string())
}

/// A hexadecimal field read into a C `int` (wrapping, as `%x` does).
fn hex_int(field: &str) -> Option<i64> {
    Some(i64::from(u32::from_str_radix(field, 16).ok()? as i32))
}

/// A decimal field read into a C `int`.
fn dec_int(field: &str) -> Option<i64> {
    field.parse::<i32>().ok().map(i64::from)
}

/// One line of `/proc/net/route`.
fn ipv4_route(line: &str) -> Option<GuestNetworkRoute> {
    let f: Vec<&str> = line.split_whitespace().collect();
    if f.len() < 11 {
        return None;
    }
    let (iface, destination, metric) = (f[0].to_owned(), ipv4(f[1])?, dec_int(f[6])?);
    Some(GuestNetworkRoute {
        gateway: Some(ipv4(f[2])?),
        flags: Some(u64::from(u32::from_str_radix(f[3], 16).ok()?)),
        refcnt: Some(dec_int(f[4])?),
        r#use: Some(dec_int(f[5])?),
        mask: Some(ipv4(f[7])?),
        mtu: Some(dec_int(f[8])?),
        window: Some(dec_int(f[9])?),
        irtt: Some(dec_int(f[10])?),
        ..GuestNetworkRoute::new(iface, destination, metric, 4)
    })
}

/// One line of `/proc/net/ipv6_route`.
fn ipv6_route(line: &str) -> Option<GuestNetworkRoute> {
    let f: Vec<&str> = line.split_whitespace().collect();
    if f.len() < 10 {
        return None;
    }
    let (destination, metric, iface) = (ipv6(f[0])?, hex_int(f[5])?, f[9].to_owned());
    Some(GuestNetworkRoute {
        desprefixlen: Some(hex_int(f[1])?.to_string()),
        source: Some(ipv6(f[2])?),
        srcprefixlen: Some(hex_int(f[3])?.to_string()),
        nexthop: Some(ipv6(f[4])?),
        refcnt: Some(hex_int(f[6])?),
        r#use: Some(hex_int(f[7])?),
        // An int made unsigned: the sign bit spreads to 64 bits.
        flags: Some(hex_int(f[8])? as u64),
        ..GuestNetworkRoute::new(iface, destination, metric, 6)
    })
}

/// Every route of `ipv4_table` (its heading line skipped) and then of
/// `ipv6_table`; a table that cannot be read is left out.
pub fn parse(ipv4_table: Option<&str>, ipv6_table: Option<&str>) -> Vec<GuestNetworkRoute> {
    let v4 = ipv4_table
        .into_iter()
        .flat_map(|t| t.lines().skip(1).filter_map(ipv4_route));
    let v6 = ipv6_table
        .into_iter()
        .flat_map(|t| t.lines().filter_map(ipv6_route));
    v4.chain(v6).collect()
}

/// `guest-network-get-route`.
pub fn routes() -> Result<Vec<GuestNetworkRoute>, Error> {
    let v4 = std::fs::read_to_string("/proc/net/route");
    let v6 = std::fs::read_to_string("/proc/net/ipv6_route");
    if let (Err(e), Err(_)) = (&v4, &v6) {
        return Err(Error::generic(format!(
            "open(\"/proc/net/route\"): {}",
            errno_text(e)
        )));
    }
    Ok(parse(v4.ok().as_deref(), v6.ok().as_deref()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const V4: &str =
        "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
        eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n\
        eth0\t000200C0\t00000000\t0001\t0\t0\t100\t00FFFFFF\t1500\t0\t0\n";
    const V6: &str = "fd000000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001     eth0\n\
        00000000000000000000000000000001 80 00000000000000000000000000000000 00 00000000000000000000000000000000 00000000 00000002 00000000 80200001       lo\n\
        00000000000000000000000000000000 00 00000000000000000000000000000000 00 00000000000000000000000000000000 ffffffff 00000001 00000000 00200200       lo\n";

    #[test]
    fn both_tables_as_qemu_ga_10_reports_them() {
        let routes = parse(Some(V4), Some(V6));
        let json: Vec<String> = routes
            .iter()
            .map(|r| {
                format!(
                    "{} {} gw={:?} mask={:?} metric={} flags={:?} mtu={:?} len={:?} src={:?} hop={:?} v{}",
                    r.iface, r.destination, r.gateway, r.mask, r.metric, r.flags, r.mtu,
                    r.desprefixlen, r.source, r.nexthop, r.version
                )
            })
            .collect();
        assert_eq!(
            json,
            [
                "eth0 0.0.0.0 gw=Some(\"192.0.2.1\") mask=Some(\"0.0.0.0\") metric=0 flags=Some(3) mtu=Some(0) len=None src=None hop=None v4",
                "eth0 192.0.2.0 gw=Some(\"0.0.0.0\") mask=Some(\"255.255.255.0\") metric=100 flags=Some(1) mtu=Some(1500) len=None src=None hop=None v4",
                "eth0 fd00:: gw=None mask=None metric=256 flags=Some(1) mtu=None len=Some(\"64\") src=Some(\"::\") hop=Some(\"::\") v6",
                "lo ::1 gw=None mask=None metric=0 flags=Some(18446744071564165121) mtu=None len=Some(\"128\") src=Some(\"::\") hop=Some(\"::\") v6",
                "lo :: gw=None mask=None metric=-1 flags=Some(2097664) mtu=None len=Some(\"0\") src=Some(\"::\") hop=Some(\"::\") v6",
            ]
        );
    }

    #[test]
    fn malformed_lines_are_skipped() {
        assert!(parse(Some("heading\neth0 zz\n"), Some("short line\n")).is_empty());
        assert!(parse(None, None).is_empty());
    }
}
