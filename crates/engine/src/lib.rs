//! pktpath-engine
