/**
 * Link-layer numbers shared by the capture readers: pcap LINKTYPE values (tcpdump.org
 * linktypes), the EtherTypes of IP and VLAN tags, and the VLAN depth both parsers accept.
 */
export const LINKTYPE_NULL = 0;
export const LINKTYPE_ETHERNET = 1;
/** DLT_RAW as most systems number it in pcap files. */
export const LINKTYPE_RAW_ALT = 12;
/** DLT_RAW on OpenBSD. */
export const LINKTYPE_RAW_OPENBSD = 14;
export const LINKTYPE_RAW = 101;
export const LINKTYPE_LOOP = 108;
export const LINKTYPE_LINUX_SLL = 113;
export const LINKTYPE_IPV4 = 228;
export const LINKTYPE_IPV6 = 229;
export const LINKTYPE_LINUX_SLL2 = 276;

export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_IPV6 = 0x86dd;
export const ETHERTYPE_VLAN = 0x8100;
export const ETHERTYPE_QINQ = 0x88a8;
/** Pre-802.1ad QinQ outer tag, still seen on older switches. */
export const ETHERTYPE_QINQ_OLD = 0x9100;

/** At most this many VLAN tags are skipped; a frame with more is not read as IP. */
export const MAX_VLAN_TAGS = 8;
