"""Reports of eval runs: a table per mode and setting (report.py) and accuracy-vs-cost plots (plot.py)."""
