"""The device side of simrelay: a reference implementation of docs/device-protocol.md.

`simulator` runs N virtual phones for tests, demos, benchmarks and chaos tests. `_link` (the
connection) and `_lease` (the lease-rule bookkeeping) serve every device-side program: the
simulated phone adds its `_handset` radio, the modem host (simrelay.modem) its own. This package
talks to the server only over HTTP and WebSocket, never through simrelay's server modules.
"""
