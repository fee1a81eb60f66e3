"""The progress line a job log shows: rows, errors, rows/s, acceptance; the last state once."""

from rsd_ray.runner.progress import Progress


def test_a_log_gets_the_acceptance_so_far_and_the_end_once():
    lines: list[str] = []
    p = Progress(total=10, initial=0, label="rsd", log=lines.append, every_s=3600)
    p.update(4, errors=1, accepted=3, proposed=4)
    assert lines == []  # not yet time for a line
    p.close()
    assert len(lines) == 1 and lines[0].startswith("rsd: 4/10 rows, 1 errors,") and lines[0].endswith("acceptance 0.750")

    lines.clear()
    p = Progress(total=10, initial=0, label="rsd", log=lines.append, every_s=0)
    p.update(10, accepted=1, proposed=2)
    p.close()  # the tick already said it
    assert len(lines) == 1 and "10/10 rows" in lines[0] and lines[0].endswith("acceptance 0.500")
