"""Documents the auditor writes and reads back (run documents) and their validation."""
