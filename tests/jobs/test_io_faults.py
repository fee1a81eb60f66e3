"""An empty input and a write failure mid-run: one line each, and what was committed stays readable."""

import errno

import pyarrow.parquet as pq

from rsd_ray.cli import main


def test_an_empty_input_is_one_line_and_exit_2(tmp_path, capsys):
    (tmp_path / "in.jsonl").write_text("\n\n")
    assert main(["generate", "--backend", "local", "--input", str(tmp_path / "in.jsonl"),
                 "--output", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "has no rows" in err[0]


def test_a_full_disk_mid_run_is_one_line_and_the_committed_part_stays(tmp_path, capsys, monkeypatch):
    real = pq.write_table
    calls = []

    def fill_up(table, where, *args, **kwargs):
        calls.append(where)
        if len(calls) == 2:  # the second part finds the disk full
            raise OSError(errno.ENOSPC, "No space left on device", str(where))
        return real(table, where, *args, **kwargs)

    monkeypatch.setattr(pq, "write_table", fill_up)
    out = tmp_path / "out"
    rc = main(["generate", "--backend", "local", "--mode", "draft", "--limit", "8", "--set", "run.part_rows=4",
               "--output", str(out)])
    stderr = capsys.readouterr().err
    err = [line for line in stderr.splitlines() if line.startswith("rsd-ray:")]  # not the loaders' progress bars
    assert rc == 1 and len(err) == 1 and "No space left on device" in err[0] and str(out) in err[0]
    assert "Traceback" not in stderr
    monkeypatch.setattr(pq, "write_table", real)
    parts = sorted((out / "results.parquet").glob("part-*.parquet"))
    assert len(parts) == 1 and pq.read_table(parts[0]).num_rows == 4  # whole, and nothing half-written
    # space freed: the same job resumes and completes with every row exactly once, no temporary kept
    assert main(["generate", "--backend", "local", "--mode", "draft", "--limit", "8", "--set", "run.part_rows=4",
                 "--output", str(out)]) == 0
    ids = pq.read_table(out / "results.parquet", columns=["id"])["id"].to_pylist()
    assert len(ids) == len(set(ids)) == 8 and not list((out / "results.parquet").glob(".*"))


def test_the_zoo_on_a_benchmark_set_says_what_it_can_solve(tmp_path, capsys):
    assert main(["generate", "--backend", "local", "--mode", "draft", "--dataset", "math500", "--limit", "2",
                 "--set", "generation.max_new_tokens=16", "--output", str(tmp_path)]) == 0
    notes = [line for line in capsys.readouterr().err.splitlines() if line.startswith("rsd-ray: note:")]
    assert len(notes) == 1 and "zoo" in notes[0] and "recipes" in notes[0]


def test_an_unexpected_failure_is_one_line_with_the_traceback_in_a_file(tmp_path, capsys, monkeypatch):
    import rsd_ray.jobs.generate as generate

    def broken(*args, **kwargs):
        raise KeyError("a bug deep inside")

    monkeypatch.setattr(generate, "run_generate", broken)
    out = tmp_path / "out"
    out.mkdir()
    assert main(["generate", "--backend", "local", "--output", str(out)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("rsd-ray: error: KeyError:") and "full traceback in" in err[0]
    log = next(out.glob("rsd-ray-error-*.log"))
    assert "Traceback" in log.read_text() and "a bug deep inside" in log.read_text() and str(log) in err[0]
