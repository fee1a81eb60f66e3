"""sd (assisted generation) refuses a prompt the same way the step engine does: one check for both."""

from rsd_ray.config import load_config
from rsd_ray.core.records import StepCall
from rsd_ray.models.roles import build_assisted


def test_sd_names_characters_its_tokenizer_cannot_encode_and_long_prompts():
    engine = build_assisted(load_config())
    bad, long, good = engine.generate_steps([
        StepCall("u", "12+é=?", (), 40, 0, 0, speculative=True),
        StepCall("l", "1+" * 3000 + "1=?", (), 40, 0, 0, speculative=True),
        StepCall("g", "12+5=?", (), 40, 0, 0, speculative=True)])
    assert bad.error and "cannot encode: 'é'" in bad.error
    assert long.error and "longer than" in long.error
    assert good.error is None and good.text
