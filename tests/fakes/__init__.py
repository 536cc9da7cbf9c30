"""Fakes of real equipment for the device-side tests (STYLE.md §12): pty GSM modems."""
