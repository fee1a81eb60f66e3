"""A character-level tokenizer saved in the standard Hugging Face layout.

One token per character keeps the zoo models tiny and makes step boundaries
exact; it is saved as tokenizer.json so that AutoTokenizer loads it exactly
like a real checkpoint's tokenizer.
"""

from __future__ import annotations

from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
from transformers import PreTrainedTokenizerFast

EOS, PAD, UNK = "<|endoftext|>", "<|pad|>", "<|unk|>"
CHARS = list("0123456789+-=?\n\\boxed{} ")


def build_tokenizer() -> PreTrainedTokenizerFast:
    vocab = {tok: i for i, tok in enumerate([PAD, EOS, UNK, *CHARS])}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token=UNK))
    # [\s\S] rather than "." so that newlines are isolated too: one token per character.
    tok.pre_tokenizer = pre_tokenizers.Split(Regex(r"[\s\S]"), behavior="isolated")
    tok.decoder = decoders.Fuse()
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, eos_token=EOS, pad_token=PAD, unk_token=UNK,
        padding_side="left", model_max_length=256,
    )
