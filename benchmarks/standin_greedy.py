"""Greedy steps of one mixed-length batch (5 to 2,000 tokens) on a 28/4-head stand-in, tokens dumped to a JSON.

Run it in two trees (e.g. a `git archive` of an older commit, and this one) and compare the
files: the step engine's greedy output must not change with its internals.

    python benchmarks/standin_greedy.py OUT.json
"""
import json, sys, torch
from dataclasses import asdict
torch.set_num_threads(1)
from transformers import AutoTokenizer, Qwen2Config, Qwen2ForCausalLM
from rsd_ray.core.records import StepCall
from rsd_ray.models.generator import StepGenerator
from rsd_ray.standins.build import TOKENIZER_DIR
from rsd_ray.standins.shapes import STANDINS
out = {}
for init in (0.02, 0.3):
    arch = STANDINS["target-7b"].arch.shrunk(2, 16, False)
    torch.manual_seed(0)
    model = Qwen2ForCausalLM(Qwen2Config(**asdict(arch), initializer_range=init, attn_implementation="sdpa")).eval()
    tok = AutoTokenizer.from_pretrained(str(TOKENIZER_DIR))
    e = StepGenerator(model, tok, "target", max_prompt_tokens=1 << 12)
    g = torch.Generator().manual_seed(5)
    lens = [20, 1500, 90, 700, 300, 1100, 5, 2000]
    prompts = {f"p{i}": torch.randint(0, 150000, (n,), generator=g).tolist() for i, n in enumerate(lens)}
    e.prompt_ids, e.prompt_error = prompts.__getitem__, lambda _p: None
    e.eos_ids, e._may_end = set(), [False] * len(e._may_end)
    steps = {n: () for n in prompts}
    for k in range(3):
        res = e.generate_steps([StepCall(n, n, steps[n], 16, 0, k) for n in prompts])
        steps = {r.request_id: steps[r.request_id] + (r.text,) for r in res}
    out[str(init)] = {n: e.states[n].tokens[len(prompts[n]):] for n in prompts}
json.dump(out, open(sys.argv[1], "w"))
print("done", sys.argv[1])
