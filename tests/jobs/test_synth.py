"""`rsd-ray synth` end to end on the zoo (local backend): samples, kept SFT rows, pairs, resume."""

import json

import pyarrow.parquet as pq

from rsd_ray.cli import main


def test_synth_rsd_writes_samples_sft_and_step_pairs_and_resumes(tmp_path):
    out = tmp_path / "synth"
    args = ["synth", "--backend", "local", "--limit", "6", "--samples", "3", "--output", str(out)]
    assert main(args) == 0
    samples = pq.read_table(out / "samples").to_pylist()
    assert sorted(r["id"] for r in samples) == sorted(f"zoo-1000-{i}#s{k}" for i in range(6) for k in range(3))
    sft = pq.read_table(out / "sft").to_pylist()
    assert sft and all(r["correct"] for r in sft) and len({r["hash"] for r in sft}) == len(sft)
    by_id = {r["id"]: r for r in samples}
    assert all(r["messages"][1]["content"] == by_id[r["sample_id"]]["response"] for r in sft)
    pairs = pq.read_table(out / "step_pairs").to_pylist()
    assert pairs, "RSD at temperature 0.7 rejects some draft steps on 18 samples"
    for p in pairs:
        s = by_id[p["sample_id"]]
        assert p["draft_reward"] < 0.7 and p["target_reward"] is not None  # delta 0.7; target steps scored
        assert [st["text"] for st in s["steps"][:len(p["prefix"])]] == p["prefix"]
        assert s["steps"][len(p["prefix"])] == {"text": p["target"], "source": "target", "reward": p["target_reward"]}
    summary = json.loads((out / "summary.json").read_text())
    assert summary["rows"] == 18 and summary["sft_rows"] == len(sft)

    assert main(args) == 0  # rerun: everything is done, nothing is added
    again = json.loads((out / "summary.json").read_text())
    assert again["rows_this_run"] == 0 and again["sft_rows"] == len(sft) and again["step_pairs_rows"] == len(pairs)


def test_synth_draft_samples_give_preference_pairs(tmp_path):
    out = tmp_path / "synth"
    assert main(["synth", "--backend", "local", "--mode", "draft", "--limit", "8", "--samples", "4",
                 "--output", str(out)]) == 0
    prefs = pq.read_table(out / "preference").to_pylist()
    assert prefs, "a 50% draft sampled 4 times gives right and wrong solutions of some problem"
    assert all(p["chosen_correct"] is True and p["rejected_correct"] is not True for p in prefs)
    assert all(p["chosen"] != p["rejected"] for p in prefs)
    assert not (out / "step_pairs").exists() or pq.read_table(out / "step_pairs").num_rows == 0


def test_synth_bad_keep_rule_is_one_line(tmp_path, capsys):
    assert main(["synth", "--keep", "reward", "--output", str(tmp_path / "o")]) == 2
    assert "needs --min-reward" in capsys.readouterr().err
