"""The committed tokenizer is Qwen2.5's: its merges, its added tokens at their ids, its chat template."""

from transformers import AutoTokenizer

from rsd_ray.standins.build import TOKENIZER_DIR

QWEN25_ADDED = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|object_ref_end|>",
                "<|box_start|>", "<|box_end|>", "<|quad_start|>", "<|quad_end|>", "<|vision_start|>",
                "<|vision_end|>", "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>", "<tool_call>",
                "</tool_call>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>", "<|fim_pad|>",
                "<|repo_name|>", "<|file_sep|>"]
SYSTEM = "Please reason step by step, and put your final answer within \\boxed{}."


def tokenizer():
    return AutoTokenizer.from_pretrained(str(TOKENIZER_DIR))  # plain files: no gguf, no network


def test_step_delimiters_merge_as_in_qwen():
    tok = tokenizer()
    assert tok.encode(".\n\n") == [382]
    assert tok.encode(":\n\n") == [1447]
    assert tok.encode("\n\n") == [271]
    (nl3,) = tok.encode("\n\n\n")  # one merged token
    assert tok.decode([nl3]) == "\n\n\n"
    assert tok.encode("Hello world") == [9707, 1879]


def test_vocabulary_and_special_tokens_sit_at_their_real_ids():
    tok = tokenizer()
    assert len(tok) == 151643 + len(QWEN25_ADDED)
    assert tok.convert_ids_to_tokens(list(range(151643, 151665))) == QWEN25_ADDED
    assert (tok.eos_token, tok.eos_token_id) == ("<|im_end|>", 151645)
    assert (tok.pad_token, tok.pad_token_id) == ("<|endoftext|>", 151643)
    assert tok.bos_token is None
    assert tok.encode("<|im_start|>user") == [151644, 872]  # added tokens match inside text


def test_chat_template_is_qwen25_math_instruct():
    tok = tokenizer()
    user = [{"role": "user", "content": "1+1?"}]
    expected = (f"<|im_start|>system\n{SYSTEM}<|im_end|>\n<|im_start|>user\n1+1?<|im_end|>\n"
                "<|im_start|>assistant\n")
    assert tok.apply_chat_template(user, tokenize=False, add_generation_prompt=True) == expected
    own = [{"role": "system", "content": "S"}, *user]
    assert tok.apply_chat_template(own, tokenize=False, add_generation_prompt=True).startswith(
        "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\n")
