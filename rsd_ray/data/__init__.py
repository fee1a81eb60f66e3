"""Input rows: column maps, presets for the benchmark sets, readers and per-row validation."""
