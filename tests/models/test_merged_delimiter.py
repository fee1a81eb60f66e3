"""A tokenizer that merges the delimiter into a larger token ("\\n\\n\\n") still splits steps right."""

import torch
from transformers import Qwen2Config, Qwen2ForCausalLM, Qwen2Tokenizer
from transformers.convert_slow_tokenizer import bytes_to_unicode

from rsd_ray.core.records import StepCall
from rsd_ray.models.generator import StepGenerator


def merged_tokenizer() -> Qwen2Tokenizer:
    nl = bytes_to_unicode()[ord("\n")]
    vocab = {"<|endoftext|>": 0}
    for ch in "0123456789+=":
        vocab[ch] = len(vocab)
    for tok in (nl, nl * 2, nl * 3):
        vocab[tok] = len(vocab)
    return Qwen2Tokenizer(vocab=vocab, merges=[(nl, nl), (nl * 2, nl)])


def test_step_ends_inside_a_merged_token_and_the_next_step_starts_clean(monkeypatch):
    tok = merged_tokenizer()
    nl3 = tok.convert_tokens_to_ids(bytes_to_unicode()[ord("\n")] * 3)
    assert tok.encode("\n\n\n") == [nl3]  # the tokenizer really merges
    torch.manual_seed(0)
    model = Qwen2ForCausalLM(Qwen2Config(vocab_size=len(tok), hidden_size=16, intermediate_size=32,
                                         num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=2,
                                         max_position_embeddings=128)).eval()
    g = StepGenerator(model, tok, "draft", render="{}=".format)
    script = iter(tok.encode("2") + [nl3] + tok.encode("3"))
    monkeypatch.setattr(g, "_pick", lambda logits, gens: torch.tensor([next(script)]))
    first = g.generate_steps([StepCall("r", "1+1", (), 10, 0, 0)])[0]
    assert first.text == "2" and not first.finished
    state = g.states["r"]
    # committed context is exactly prompt + "2" + delimiter, whatever the model's token was
    assert tok.decode(state.tokens) == "1+1=2\n\n"
    assert state.tokens[-1] == tok.encode("\n\n")[0] and state.cached == len(state.tokens) - 1
