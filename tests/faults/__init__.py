"""Fault injection: real processes and real repositories under kill -9, racing writers, failing remotes, full
disks, hostile files and symlinks. Each file is bounded in time; see each module for its counts."""
