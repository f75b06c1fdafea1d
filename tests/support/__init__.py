"""Test support packages (the vendor-format readers live in vendor/)."""
