"""Layer 1: who is calling and what they may do — TLS material, channel systems' tokens, the
operator directory, sessions, roles. No gRPC types: the edge reads the metadata and asks here."""
