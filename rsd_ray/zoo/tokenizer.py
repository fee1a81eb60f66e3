"""The zoo's tokenizer: a genuine Qwen2Tokenizer whose vocabulary is single characters.

Byte-level BPE with no merges splits every text into characters, so the zoo
models stay tiny and step boundaries are exact, while AutoTokenizer loads it
through the same Qwen2 code path as a real Qwen checkpoint's tokenizer
(transformers picks the tokenizer class from config.json's model_type, so a
tokenizer of another kind next to a Qwen2 config would not survive loading).
"""

from __future__ import annotations

from transformers import Qwen2Tokenizer
from transformers.convert_slow_tokenizer import bytes_to_unicode

EOS, PAD, UNK = "<|endoftext|>", "<|pad|>", "<|unk|>"
CHARS = list("0123456789+-=?\n\\boxed{} ")


def build_tokenizer(extra_chars: str = "") -> Qwen2Tokenizer:
    byte_char = bytes_to_unicode()  # byte -> the printable character byte-level BPE uses for it
    vocab = {PAD: 0, EOS: 1, UNK: 2}
    for ch in [*CHARS, *extra_chars]:
        # a character of several UTF-8 bytes becomes several tokens (no merges)
        for b in ch.encode():
            vocab.setdefault(byte_char[b], len(vocab))
    return Qwen2Tokenizer(vocab=vocab, merges=[], unk_token=UNK, eos_token=EOS, pad_token=PAD,
                          padding_side="left", model_max_length=256)
