//! pktpath-lab: worlds in real namespaces, judged by the kernel.
