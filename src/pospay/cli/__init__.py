"""The `pospay` command."""
