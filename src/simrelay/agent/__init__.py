"""The device side of simrelay: a reference implementation of docs/device-protocol.md.

`simulator` runs N virtual phones for tests, demos, benchmarks and chaos tests. This package
talks to the server only over HTTP and WebSocket, never through simrelay's server modules.
"""
