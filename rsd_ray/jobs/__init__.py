"""Job entry points: short and linear (config -> rows -> models -> run -> write)."""
