"""The GPU extras (pyproject `gpu`, requirements/gpu.txt): consistent with the stack, and resolvable by pip.

The resolution test asks pip's own resolver (`pip install --dry-run --report`) against PyPI without
downloading a wheel: PyPI serves no PEP 658 metadata files here, so pip's `fast-deps` feature reads
each wheel's METADATA through HTTP range requests instead. It needs the network, takes 1.5-2 min and
receives ~110 MB (index pages and range requests; 274 packages), so it is marked slow (docs/benchmarks.md,
"GPU").
"""

import json
import re
import shutil
import socket
import subprocess
import sys
import tomllib
from importlib.metadata import requires
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9_.-]*)==(\S+)$")


def pins(path: Path) -> dict[str, str]:
    lines = [line.strip() for line in path.read_text().splitlines()]
    return {canonicalize_name(PIN.match(line)[1]): PIN.match(line)[2] for line in lines if PIN.match(line)}


def gpu_extra() -> dict[str, Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return {Requirement(spec).name: Requirement(spec) for spec in project["optional-dependencies"]["gpu"]}


def gpu_constraints(venv: Path) -> Path:
    """The constraint set `make install GPU=1` hands pip, written by the Makefile's own rule."""
    target = venv / "gpu-constraints.txt"
    subprocess.run(["make", "--no-print-directory", "-s", f"VENV={venv}", str(target)], cwd=ROOT, check=True,
                   timeout=60)
    return target


def test_gpu_constraints_are_the_stack_with_gpu_txt_replacing_and_adding_pins(tmp_path):
    stack, gpu = pins(ROOT / "requirements/stack.txt"), pins(ROOT / "requirements/gpu.txt")
    extras = gpu_extra()
    assert set(extras) == {"vllm", "bitsandbytes"}  # flash-attn left out: requirements/gpu.txt says why
    assert set(gpu) - set(stack) == set(extras) and "numpy" in gpu  # numpy 2.3.5 for vllm's mistral_common
    for name, requirement in extras.items():
        assert requirement.specifier.contains(gpu[name]), (name, gpu[name], str(requirement))
    composed = gpu_constraints(tmp_path / "venv")
    assert pins(composed) == {**stack, **gpu}
    assert len(pins(composed)) == len([line for line in composed.read_text().splitlines() if line.strip()])
    assert "torch" not in pins(composed)  # vllm pins torch itself; a cluster's CUDA torch must equal that pin


def test_vllm_is_the_release_ray_tests_ray_data_llm_with():
    """ray[llm] (ray.data.llm's extra) pins the vllm it is tested against: ours is that one."""
    llm_extra = [Requirement(spec) for spec in requires("ray") if 'extra == "llm"' in spec]
    (vllm,) = [req for req in llm_extra if req.name == "vllm"]
    assert vllm.specifier.contains(pins(ROOT / "requirements/gpu.txt")["vllm"])


def pypi_reachable() -> bool:
    try:
        socket.create_connection(("pypi.org", 443), timeout=5).close()
        return True
    except OSError:
        return False


@pytest.mark.slow
@pytest.mark.skipif(not pypi_reachable(), reason="needs PyPI (pip's resolver reads package metadata from it)")
def test_pip_resolves_the_gpu_install_without_downloading_wheels(tmp_path):
    # The project's metadata is its pyproject.toml alone: resolve a copy, so nothing is built in the tree.
    project = tmp_path / "project"
    for package in ("tide", "launch"):
        (project / package).mkdir(parents=True)
        (project / package / "__init__.py").touch()
    shutil.copy(ROOT / "pyproject.toml", project)
    shutil.copy(ROOT / "README.md", project)
    report = tmp_path / "report.json"
    # --isolated: none of this machine's pip settings (its local wheel folders, its torch cap); torch comes
    # from PyPI as on a GPU cluster (`make install GPU=1`).
    done = subprocess.run(
        [sys.executable, "-m", "pip", "--isolated", "install", "--dry-run", "--ignore-installed",
         "--no-build-isolation", "--use-feature=fast-deps", "--report", str(report),
         "-c", str(gpu_constraints(tmp_path / "venv")), f"{project}[gpu,dev]"],
        capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert not re.search(r"Downloading \S+\.whl", done.stdout), "a wheel was downloaded, not only its metadata"
    resolved = {canonicalize_name(item["metadata"]["name"]): item["metadata"]["version"]
                for item in json.loads(report.read_text())["install"]}
    wanted = pins(tmp_path / "venv" / "gpu-constraints.txt")
    assert {name: resolved[name] for name in wanted if name in resolved} == \
        {name: pin for name, pin in wanted.items() if name in resolved}  # every package pip chose, at its pin
    project_cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    direct = {canonicalize_name(Requirement(spec).name) for spec in
              project_cfg["dependencies"] + project_cfg["optional-dependencies"]["gpu"]}
    assert direct & set(wanted) <= set(resolved)  # the pinned direct dependencies and the extras among them
    assert Version(resolved["torch"]) == Version("2.13.0")  # vllm 0.29.0's exact torch
    assert resolved["transformers"] == "5.24.0" and resolved["ray"] == "2.60.0"
