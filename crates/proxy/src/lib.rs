//! pktpath-proxy: a userland proxy that can stand in for docker-proxy.
