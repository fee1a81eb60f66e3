"""DeepSpeed's CPU all-reduce op: a lock file left by a killed builder must not hang the next rank.

The op's build folder is copied (built, as scripts/install.sh leaves it) into a private
TORCH_EXTENSIONS_DIR, a lock file like the one a killed build leaves is put beside it, and a
fresh process loads the op the way a rank does. Without the guard it waits on that file for ever.
"""

import os
import shutil
import subprocess
import sys

import pytest

LOAD = "from rsd_ray.cluster.bootstrap import build_cpu_comm_op; build_cpu_comm_op(); print('loaded')"


def _env(**extra):
    return {**os.environ, "DS_ACCELERATOR": "cpu", **extra}


def _built_folder() -> str:
    """The op's folder in the default root, built now if install.sh has not."""
    done = subprocess.run([sys.executable, "-c", LOAD + "\nfrom torch.utils.cpp_extension import "
                           "_get_build_directory as d; print(d('deepspeed_shm_comm', False))"],
                          env=_env(), capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.split()[-1]


def test_a_lock_left_by_a_killed_build_does_not_hang_the_next_rank(tmp_path):
    source = _built_folder()
    root = tmp_path / "ext"
    target = root / os.path.basename(source)  # under TORCH_EXTENSIONS_DIR torch adds no py311_cpu
    shutil.copytree(source, target)  # keeps mtimes: ninja finds it built
    (target / "lock").write_text("")  # what torch's FileBaton leaves when its holder is killed
    try:
        done = subprocess.run([sys.executable, "-c", LOAD], env=_env(TORCH_EXTENSIONS_DIR=str(root)),
                              capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        pytest.fail("the rank waited on the dead builder's lock file")
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[-1] == "loaded"
    assert not (target / "lock").exists()
