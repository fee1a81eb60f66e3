"""Final-answer extraction and grading with math-verify, time-bounded from any thread."""
