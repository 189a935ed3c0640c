"""`make device-wheels`: the wheels `make gpu-check` needs on the GPU machine lent through the device tool.

That machine (docs/benchmarks.md, "On the lent GPU machine") has Python 3.12 with torch, transformers,
accelerate, pandas, pyarrow and friends, no network, and takes packages only as wheel files inside the
64 MiB working tree of one call. This script builds that set for its Python (cp312, manylinux x86-64):

1. downloads the binary wheels (`pip download --only-binary`), pinned below or in requirements/stack.txt;
2. builds the two that have only a source release, pure Python (deepspeed with DS_BUILD_OPS=0: its CUDA
   ops are compiled just in time there, if ever; antlr4, hydra's parser runtime);
3. slims ray (its Java jar and the dashboard's JavaScript source maps: a Ray head, the dashboard and the
   state API still start) and bitsandbytes (the CUDA 13.0 library the machine's torch needs, and the CPU one);
4. checks the set installs with `pip install --no-index --no-deps --target` for that Python, and, where a
   Python 3.12 is found here (PATH or pyenv), that it imports and that a Ray head with its dashboard starts
   on a stand-in of the machine's own packages (outputs/device-base, made once); the modules that need
   torch or CUDA (deepspeed, peft, bitsandbytes) are imported on the machine, by gpu-check itself;
5. fails when the set plus the project's files that travel is over 60 MiB, and prints the device call.

    python -m launch.device_wheels [--out device-wheels] [--limit-mib 60] [--no-import-check]

Exit 0: the set is ready (device-wheels/, git-ignored); 1: a step failed or the set is too big (one line).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "device-wheels"
LIMIT_MIB = 60
TIMEOUT_S = 480  # the run's limit in the device call: gpu-check's 360 s budget, the install, Ray's start and stop
DEVICE_PYTHON = ("3.12", "cp312")
PLATFORMS = ("any", "manylinux1_x86_64", "manylinux2014_x86_64",
             *(f"manylinux_2_{n}_x86_64" for n in range(17, 40)))  # pip matches manylinux_2_N exactly


class DeviceWheelsError(RuntimeError):
    """A step of building the set failed; the message is the one line printed."""


@dataclass(frozen=True)
class Wheel:
    name: str
    version: str | None = None   # None: the pin in requirements/stack.txt (or gpu.txt)
    source: bool = False         # only a source release: built here into a pure-Python wheel
    why: str = ""


# The set: what gpu-check imports that the machine lacks, and what those need beyond the machine's own
# packages (it has aiohttp, grpcio, prometheus_client, protobuf, requests, numpy, pandas, pyarrow, fsspec,
# huggingface_hub, msgpack, click, filelock, pyyaml, psutil, py-cpuinfo, ninja, einops, nvidia-ml-py...).
WHEELS = (
    Wheel("ray", why="Ray Train, Ray Data (slimmed)"),
    Wheel("deepspeed", source=True, why="ZeRO-2 (DS_BUILD_OPS=0: pure Python)"),
    Wheel("bitsandbytes", why="QLoRA's 4-bit base (slimmed to CUDA 13.0 + CPU)"),
    Wheel("peft", why="the stack's pin over the machine's own"),
    Wheel("hydra-core", why="gpu-check composes conf/"),
    Wheel("omegaconf", "2.3.0"), Wheel("antlr4-python3-runtime", "4.9.3", source=True),
    Wheel("datasets", why="the data artifact"), Wheel("dill", "0.4.1"), Wheel("multiprocess", "0.70.19"),
    Wheel("pydantic", "2.14.4", why="ray's dashboard, deepspeed's config"), Wheel("pydantic-core", "2.50.5"),
    Wheel("annotated-types", "0.8.0"), Wheel("typing-inspection", "0.4.5"), Wheel("hjson", "3.1.0"),
    Wheel("jsonschema", "4.26.0", why="ray"), Wheel("jsonschema-specifications", "2025.9.1"),
    Wheel("referencing", "0.37.0"), Wheel("rpds-py", "2026.9.1"),
    Wheel("aiohttp-cors", "0.8.1", why="ray's dashboard"), Wheel("colorful", "0.5.8"),
    Wheel("opencensus", "0.11.4"), Wheel("opencensus-context", "0.1.3"),
    Wheel("google-api-core", "2.44.0"), Wheel("google-auth", "2.63.0"),
    Wheel("googleapis-common-protos", "1.76.0", why="without it the dashboard agent fails"),
    Wheel("proto-plus", "1.29.0"), Wheel("pyasn1", "0.6.5"), Wheel("pyasn1-modules", "0.4.2"),
    Wheel("opentelemetry-api", "1.45.2"), Wheel("opentelemetry-sdk", "1.45.2"),
    Wheel("opentelemetry-proto", "1.45.2"), Wheel("opentelemetry-exporter-prometheus", "0.66b2"),
    Wheel("opentelemetry-semantic-conventions", "0.66b2"),
    Wheel("smart-open", "9.0.4", why="ray train's storage"), Wheel("tensorboardx", "2.6.5", why="ray train"),
)
# What stays out of the slimmed wheels (paths inside the wheel).
SLIM_RULES: dict[str, Callable[[str], bool]] = {
    "ray": lambda path: path.endswith(".jar") or path.endswith(".js.map"),
    "bitsandbytes": lambda path: (path.startswith("bitsandbytes/libbitsandbytes_") and path.endswith(".so")
                                  and not path.endswith(("_cuda130.so", "_cpu.so"))),
}
# Imported on the stand-in with Python 3.12 (those that need torch or CUDA are imported on the machine).
IMPORT_CHECK = ("ray", "ray.train", "ray.data", "ray.dashboard.optional_deps", "hydra", "omegaconf", "datasets",
                "pydantic", "hjson", "jsonschema", "opencensus.stats.stats", "google.api_core", "tensorboardX")
# The machine's own packages the imports above need, installed once into the stand-in (outputs/device-base).
DEVICE_BASE = ("aiohttp", "grpcio", "prometheus-client", "protobuf", "requests", "numpy", "pandas", "pyarrow",
               "fsspec", "huggingface-hub", "msgpack", "click", "filelock", "pyyaml", "psutil", "packaging",
               "tqdm", "xxhash", "attrs", "six", "typing-extensions", "wrapt")
RAY_HEAD_CHECK = """
import ray
from ray.util.state import list_nodes
ray.init(num_cpus=1, include_dashboard=True, log_to_driver=False)
assert len(list_nodes()) == 1, "the state API saw no node"
ray.shutdown()
print("ray head, dashboard and state API: ok")
"""


def stack_pins() -> dict[str, str]:
    """name -> version from requirements/stack.txt, then gpu.txt (its pins replace stack's)."""
    pins = {}
    for path in (ROOT / "requirements" / "stack.txt", ROOT / "requirements" / "gpu.txt"):
        for line in path.read_text(encoding="utf-8").splitlines():
            line = line.split("#")[0].strip()
            if "==" in line:
                name, version = line.split("==", 1)
                pins[name.strip().lower()] = version.strip()
    return pins


def requirement(wheel: Wheel, pins: dict[str, str]) -> str:
    version = wheel.version or pins.get(wheel.name.lower())
    if version is None:
        raise DeviceWheelsError(f"{wheel.name}: no version pinned here nor in requirements/stack.txt or gpu.txt")
    return f"{wheel.name}=={version}"


def _pip(args: list[str], env: dict | None = None) -> None:
    done = subprocess.run([sys.executable, "-m", "pip", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})})
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip() and not line.startswith("WARNING")]
        raise DeviceWheelsError(f"pip {args[0]} failed: {lines[-1] if lines else done.returncode}")


def target_flags() -> list[str]:
    python, abi = DEVICE_PYTHON
    flags = ["--only-binary=:all:", "--python-version", python, "--implementation", "cp",
             "--abi", abi, "--abi", "abi3", "--abi", "none"]
    for platform in PLATFORMS:
        flags += ["--platform", platform]
    return flags


def fetch(out: Path, pins: dict[str, str]) -> None:
    """Binary wheels downloaded for the device's Python; source-only ones built here."""
    binary = [requirement(w, pins) for w in WHEELS if not w.source]
    source = [requirement(w, pins) for w in WHEELS if w.source]
    _pip(["download", "--no-deps", "-q", "-d", str(out), *target_flags(), *binary])
    _pip(["wheel", "--no-deps", "-q", "--no-binary", ":all:", "-w", str(out), *source], env={"DS_BUILD_OPS": "0"})


def slim_wheel(path: Path, drop: Callable[[str], bool]) -> int:
    """Rewrite the wheel without the files `drop` names, and its RECORD without their lines; bytes saved."""
    before = path.stat().st_size
    staging = path.with_name(path.name + ".partial")
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(staging, "w", zipfile.ZIP_DEFLATED) as target:
        kept = [info for info in source.infolist() if not drop(info.filename)]
        for info in kept:
            data = source.read(info)
            if info.filename.endswith(".dist-info/RECORD"):
                data = "".join(line + "\n" for line in data.decode().splitlines()
                               if not drop(line.rsplit(",", 2)[0])).encode()
            target.writestr(info, data)
    staging.replace(path)
    return before - path.stat().st_size


def slim(out: Path) -> dict[str, int]:
    saved = {}
    for name, drop in SLIM_RULES.items():
        found = sorted(out.glob(f"{name}-*.whl"))
        if len(found) != 1:
            raise DeviceWheelsError(f"{out}: expected one {name} wheel, found {len(found)}")
        saved[name] = slim_wheel(found[0], drop)
    return saved


def check_install(out: Path, site: Path) -> None:
    """The set installs for the device's Python with nothing else: no index, no dependency resolution."""
    wheels = sorted(str(path) for path in out.glob("*.whl"))
    _pip(["install", "--no-index", "--no-deps", "-q", "--no-compile", "--target", str(site), *target_flags(),
          *wheels])


def find_device_python() -> str | None:
    """A Python 3.12 on this machine that runs (pyenv's versions, then PATH), for the import check; None if none.

    A pyenv shim on PATH may exist without a 3.12 behind it: each candidate is asked for its version."""
    candidates = [str(path) for path in
                  sorted((Path.home() / ".pyenv" / "versions").glob("3.12*/bin/python3.12"), reverse=True)]
    candidates += [found for found in [shutil.which("python3.12")] if found]
    for candidate in candidates:
        asked = subprocess.run([candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                               capture_output=True, text=True)
        if asked.returncode == 0 and asked.stdout.strip() == DEVICE_PYTHON[0]:
            return candidate
    return None


def device_base(python: str, base: Path) -> Path:
    """A venv of that Python holding the machine's own packages that the import check needs (made once)."""
    interpreter = base / "bin" / "python"
    stamp = base / ".complete"
    if not stamp.is_file():
        shutil.rmtree(base, ignore_errors=True)
        subprocess.run([python, "-m", "venv", str(base)], check=True, capture_output=True)
        done = subprocess.run([str(interpreter), "-m", "pip", "install", "-q", *DEVICE_BASE],
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise DeviceWheelsError(f"the stand-in {base} could not be made: {done.stderr.strip().splitlines()[-1]}")
        stamp.touch()
    return interpreter


def check_imports(interpreter: Path, site: Path) -> list[str]:
    """Each module imported in its own process with the set first on the path; then a Ray head. Failures."""
    env = {**os.environ, "PYTHONPATH": str(site), "RAY_USAGE_STATS_ENABLED": "0"}
    failures = []
    for module in IMPORT_CHECK:
        done = subprocess.run([str(interpreter), "-c", f"import {module}"], capture_output=True, text=True, env=env)
        if done.returncode != 0:
            failures.append(f"{module}: {(done.stderr.strip().splitlines() or ['?'])[-1]}")
    done = subprocess.run([str(interpreter), "-c", RAY_HEAD_CHECK], capture_output=True, text=True, env=env,
                          timeout=180)
    if done.returncode != 0:
        failures.append(f"ray head: {(done.stderr.strip().splitlines() or ['?'])[-1]}")
    return failures


def travelling_bytes(root: Path = ROOT) -> int:
    """The project's files that travel with every device call: tracked, and untracked but not ignored."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=root,
                            capture_output=True, check=True).stdout.decode().split("\0")
    return sum((root / name).stat().st_size for name in listed if name and (root / name).is_file())


def check_size(wheels: Path, project_bytes: int, limit_mib: float) -> tuple[float, float]:
    """(wheels MiB, total MiB); raises when the total is over `limit_mib`."""
    wheel_mib = sum(path.stat().st_size for path in wheels.glob("*.whl")) / 2**20
    total = wheel_mib + project_bytes / 2**20
    if total > limit_mib:
        raise DeviceWheelsError(f"{wheels}: {wheel_mib:.1f} MiB of wheels + {project_bytes / 2**20:.1f} MiB of "
                                f"project = {total:.1f} MiB, over the {limit_mib:g} MiB a device call can carry")
    return wheel_mib, total


def device_call(out: Path, budget_s: int = 360) -> dict:
    """The device tool's `run` arguments for gpu-check with this set (docs/benchmarks.md)."""
    carried = os.path.relpath(out, ROOT)
    command = (f"set -o pipefail; python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir "
               f"--target /tmp/site {carried}/*.whl && export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1 && "
               f"python3 -m launch.gpu_check --runner auto --budget {budget_s} paths.outputs=/tmp/tide 2>&1 "
               f"| tee $OUT/gpu-check.log; status=$?; cp /tmp/tide/bench/gpu.json $OUT/ 2>/dev/null; exit $status")
    return {"command": command, "carry": [carried], "timeout_s": TIMEOUT_S}


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m launch.device_wheels", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder of the set (git-ignored)")
    parser.add_argument("--limit-mib", type=float, default=LIMIT_MIB, help="set + project files, at most")
    parser.add_argument("--no-import-check", action="store_true", help="skip the Python 3.12 import check")
    return parser.parse_args(argv)


def build(args: argparse.Namespace) -> None:
    out = args.out.resolve()
    staging = out.with_name(out.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    print(f"device-wheels: downloading and building {len(WHEELS)} wheels for Python {DEVICE_PYTHON[0]} ...", flush=True)
    fetch(staging, stack_pins())
    for name, saved in slim(staging).items():
        print(f"device-wheels: slimmed {name}: -{saved / 2**20:.1f} MiB")
    with tempfile.TemporaryDirectory(prefix="device-site-") as site:
        check_install(staging, Path(site))
        print("device-wheels: the set installs with --no-index --no-deps --target (cp312)")
        import_check(args, Path(site))
    shutil.rmtree(out, ignore_errors=True)
    staging.rename(out)  # a set that failed a check never replaces a good one
    wheel_mib, total = check_size(out, travelling_bytes(), args.limit_mib)
    print(f"device-wheels: {len(list(out.glob('*.whl')))} wheels, {wheel_mib:.1f} MiB; with the project "
          f"{total:.1f} MiB of the {args.limit_mib:g} allowed -> {out}")


def import_check(args: argparse.Namespace, site: Path) -> None:
    python = None if args.no_import_check else find_device_python()
    if python is None:
        print("device-wheels: import check skipped ("
              + ("--no-import-check" if args.no_import_check else "no Python 3.12 here") + ")")
        return
    failures = check_imports(device_base(python, ROOT / "outputs" / "device-base"), site)
    if failures:
        raise DeviceWheelsError(f"import check with {python}: " + "; ".join(failures))
    print(f"device-wheels: {len(IMPORT_CHECK)} modules import and a Ray head starts with its dashboard "
          f"({python}, stand-in of the machine's packages)")


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        build(args)
    except (DeviceWheelsError, subprocess.CalledProcessError, subprocess.TimeoutExpired) as error:
        print(f"device-wheels: {error}", file=sys.stderr)
        return 1
    call = device_call(args.out.resolve())
    print("device call (the device tool's run):")
    print(f"  command:   {call['command']}")
    print(f"  carry:     {call['carry']}")
    print(f"  timeout_s: {call['timeout_s']}")
    return 0


if __name__ == "__main__":
    from launch.errors import run_command

    sys.exit(run_command("launch.device_wheels", main))
