import json
from launch.bench import main

def test_scratch(data_artifact, tmp_path, ray_local, capsys):
    assert main(["--only", "smollm2", "--smollm2-steps", "1", "--smollm2-rows", "4", "--smollm2-new-tokens", "4",
                 "data=tide", f"data.artifact_dir={data_artifact}", f"paths.outputs={tmp_path}"]) == 0
    results = {r["name"]: r for r in json.loads((tmp_path / "bench" / "bench.json").read_text())["results"]}
    print(json.dumps({k: (v["median"], v["skipped"], v["details"].get("threads_match_ray_cpus")) for k, v in results.items()}))
    print(capsys.readouterr().out[-2000:])
