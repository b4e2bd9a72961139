//! Link-layer header types (the `LINKTYPE_*` registry used by pcap and pcapng).

/// BSD loopback: a 4-byte host-order address family, then IP.
pub const NULL: u32 = 0;
/// Ethernet II (and 802.3 with LLC).
pub const ETHERNET: u32 = 1;
/// Raw IP: the packet starts with an IPv4 or IPv6 header.
pub const RAW: u32 = 101;
/// OpenBSD loopback: like `NULL` with the family in network order.
pub const LOOP: u32 = 108;
/// Linux cooked capture v1 (`tcpdump -i any`).
pub const LINUX_SLL: u32 = 113;
/// Raw IPv4 only.
pub const IPV4: u32 = 228;
/// Raw IPv6 only.
pub const IPV6: u32 = 229;
/// Linux cooked capture v2 (newer `tcpdump -i any`).
pub const LINUX_SLL2: u32 = 276;
/// Some old files use the DLT value 12 (or 14 on some BSDs) for raw IP.
pub const RAW_DLT12: u32 = 12;
/// Raw IP under the DLT value some BSDs use.
pub const RAW_DLT14: u32 = 14;

/// A person's name for a link type, as Wireshark shows it.
pub fn name(link_type: u32) -> &'static str {
    match link_type {
        NULL => "BSD loopback (NULL)",
        ETHERNET => "Ethernet",
        RAW | RAW_DLT12 | RAW_DLT14 => "Raw IP",
        IPV4 => "Raw IPv4",
        IPV6 => "Raw IPv6",
        LOOP => "OpenBSD loopback",
        LINUX_SLL => "Linux cooked capture v1 (SLL)",
        LINUX_SLL2 => "Linux cooked capture v2 (SLL2)",
        9 | 50 => "PPP",
        104 => "Cisco HDLC",
        239 => "Linux netfilter log (NFLOG)",
        _ => "other link type",
    }
}
