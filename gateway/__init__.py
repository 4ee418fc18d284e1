"""Layer 3: the gateway's protobuf-free work — authorize, create and watch cases, serve seats,
follow published rules, count requests."""
