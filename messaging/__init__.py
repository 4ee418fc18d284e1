"""Layer 1: ZeroMQ between processes — the host-to-host wire, mailboxes, the gateway's inbox,
the hosts' outbox, the event feed, batching. Carries hints backed by the store, never state."""
