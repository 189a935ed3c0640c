"""launch.device_wheels on fake sets: the size limit, the slimming of a wheel and its RECORD, the device call.

The real set is built by `make device-wheels` (network: the package registry); these need none.
"""

import zipfile

import pytest

import launch.device_wheels as device_wheels
from launch.device_wheels import DeviceWheelsError, check_size, device_call, slim_wheel, travelling_bytes


def fake_wheel(path, files: dict[str, bytes]):
    record = "".join(f"{name},sha256=x,{len(data)}\n" for name, data in files.items())
    with zipfile.ZipFile(path, "w") as wheel:
        for name, data in files.items():
            wheel.writestr(name, data)
        wheel.writestr("pkg-1.0.dist-info/RECORD", record + "pkg-1.0.dist-info/RECORD,,\n")
    return path


def sized_wheels(folder, mib: list[float]):
    folder.mkdir()
    for index, size in enumerate(mib):
        (folder / f"w{index}-1.0-py3-none-any.whl").write_bytes(b"\0" * int(size * 2**20))
    return folder


def test_a_set_under_the_limit_passes_and_reports_its_size(tmp_path):
    wheels = sized_wheels(tmp_path / "set", [30, 20.5])
    wheel_mib, total = check_size(wheels, project_bytes=2 * 2**20, limit_mib=60)
    assert wheel_mib == pytest.approx(50.5) and total == pytest.approx(52.5)


def test_a_set_over_the_limit_fails_in_one_line_naming_the_sizes(tmp_path):
    wheels = sized_wheels(tmp_path / "set", [45, 14])
    with pytest.raises(DeviceWheelsError) as refused:
        check_size(wheels, project_bytes=2 * 2**20, limit_mib=60)
    message = str(refused.value)
    assert "\n" not in message and "59.0 MiB of wheels + 2.0 MiB of project = 61.0 MiB" in message
    assert "over the 60 MiB" in message


def test_slimming_drops_the_files_and_their_record_lines_and_keeps_the_rest(tmp_path):
    wheel = fake_wheel(tmp_path / "ray-1.0-cp312-cp312-manylinux2014_x86_64.whl", {
        "ray/jars/ray_dist.jar": b"j" * 100_000, "ray/dashboard/main.js.map": b"m" * 50_000,
        "ray/dashboard/main.js": b"keep", "ray/core/raylet": b"\x7fELF"})
    saved = slim_wheel(wheel, device_wheels.SLIM_RULES["ray"])
    with zipfile.ZipFile(wheel) as slimmed:
        names = set(slimmed.namelist())
        record = slimmed.read("pkg-1.0.dist-info/RECORD").decode()
    assert saved > 0 and names == {"ray/dashboard/main.js", "ray/core/raylet", "pkg-1.0.dist-info/RECORD"}
    assert ".jar" not in record and ".js.map" not in record and "ray/core/raylet" in record


def test_bitsandbytes_keeps_only_the_cuda_13_and_cpu_libraries():
    drop = device_wheels.SLIM_RULES["bitsandbytes"]
    assert not drop("bitsandbytes/libbitsandbytes_cuda130.so") and not drop("bitsandbytes/libbitsandbytes_cpu.so")
    assert drop("bitsandbytes/libbitsandbytes_cuda128.so") and drop("bitsandbytes/libbitsandbytes_rocm72.so")
    assert not drop("bitsandbytes/functional.py")


def test_every_wheel_is_pinned_here_or_in_the_stack():
    pins = device_wheels.stack_pins()
    requirements = [device_wheels.requirement(wheel, pins) for wheel in device_wheels.WHEELS]
    assert "ray==2.60.0" in requirements and all("==" in r for r in requirements)
    assert device_wheels.requirement(device_wheels.Wheel("bitsandbytes"), pins) == f"bitsandbytes=={pins['bitsandbytes']}"


def test_the_device_call_carries_the_set_and_runs_gpu_check_within_the_tool_limits(tmp_path):
    call = device_call(device_wheels.ROOT / "device-wheels")
    assert call["carry"] == ["device-wheels"] and call["timeout_s"] <= 600
    assert len(call["command"]) <= 2000 and "launch.gpu_check --runner auto" in call["command"]
    assert "--no-index --no-deps" in call["command"] and "$OUT/" in call["command"]


def test_the_project_files_that_travel_are_counted(tmp_path):
    assert 0 < travelling_bytes() < 30 * 2**20  # the project itself leaves room for the wheels
