"""Tests of the local AWS emulator: scripts/local-aws.sh and the compat layer over moto."""
