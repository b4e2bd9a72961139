//! Writing captures (pcap, pcapng). (Being written.)
