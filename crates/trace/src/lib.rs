//! pktpath-trace
