"""`make demo`'s entry point refuses a bad model file in one line, before any stage runs."""

from launch.demo import main


def test_a_missing_gguf_file_stops_the_demo_in_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TIDE_OUTPUTS", str(tmp_path / "outputs"))
    missing = tmp_path / "nowhere.gguf"
    assert main([f"model.gguf_file={missing}"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"demo: {missing}: no such GGUF file (model.gguf_file)"
    assert not (tmp_path / "outputs" / "data").exists()  # no stage ran
