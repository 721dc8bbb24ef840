"""Tests of the card issuer simulator (a package, so its module names cannot collide)."""
