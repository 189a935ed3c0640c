"""The rater forms in a real headless Chromium: build a study, open each form from file://, find that saving
an unanswered form is refused, fill every field, save, and read the downloaded CSVs back through the
study's importer and analysis (build -> form -> saved responses -> import -> analyse): the rater who
missed the instructed-response check is excluded, and the reference replies the raters preferred come
out above every other system.

Needs chromium and chromedriver (Debian: `apt-get install chromium chromium-driver`; .ci/run installs them)
and selenium (the dev extra); skipped, saying which is missing, without them.
"""

from __future__ import annotations

import json
import random
import shutil
import time
from pathlib import Path

import pandas as pd
import pytest

from tests.configs import config_for
from tests.study.evaluated_runs import CONDITIONS, MODELS, evaluated_runs
from tide.config import with_options
from tide.study.build import StudyBuild

CHROMIUM = next(filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None)
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(CHROMIUM is None or CHROMEDRIVER is None,
                                reason="needs chromium and chromedriver (apt-get install chromium chromium-driver)")
RATERS = 4
AGES = {"P1": "67", "P2": "24", "P3": "45", "P4": "31"}  # by the participant's number


@pytest.fixture(scope="module")
def study_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("browser")
    study = with_options(config_for().study, {"raters": RATERS, "ratings_per_item": 2, "dialogues_per_scenario": 1},
                         path="study")
    out = root / "study"
    StudyBuild(study, tuple(evaluated_runs(root, dialogues=6)), out).run()
    return out


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium (the dev extra) is not installed")
    from selenium.webdriver.chrome.service import Service

    downloads = tmp_path_factory.mktemp("downloads")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(argument)  # no sandbox: CI runs as root, where Chromium's sandbox refuses to start
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                              "download.prompt_for_download": False})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    yield driver, downloads
    driver.quit()


CARELESS = "P04"  # misses the instructed-response item: the import must exclude them


def answer_for(row: pd.Series, participant: str, rng: random.Random) -> int:
    """What a careful rater answers: the instructed value, a low score for the dismissive gold reply, and
    higher scores for the reference replies than for the small models'."""
    if row["kind"] == "attention" and participant == CARELESS:
        return 5
    if row["kind"] == "attention":
        return int(row["expected"].split(";")[0].split("=")[1])
    if row["kind"] == "gold":
        return 1
    return rng.choice([4, 5]) if row["system"] == "reference" else rng.choice([2, 3, 4])


def fill_and_save(driver, downloads: Path, form: Path, key: pd.DataFrame, rng: random.Random) -> Path:
    from selenium.webdriver.common.by import By

    participant = form.stem
    driver.get(form.resolve().as_uri())
    driver.find_element(By.ID, "save").click()
    assert "unanswered" in driver.find_element(By.ID, "status").text  # nothing saved before every answer
    driver.find_element(By.ID, "consent-given").click()
    driver.find_element(By.NAME, "demo-age").send_keys(AGES[f"P{int(participant[1:])}"])
    driver.find_element(By.CSS_SELECTOR, 'input[name="demo-gender"][value="woman"]').click()
    driver.find_element(By.CSS_SELECTOR, 'input[name="demo-education"][value="graduate degree"]').click()
    shown = [node.get_attribute("id").removeprefix("item-")
             for node in driver.find_elements(By.CSS_SELECTOR, "fieldset.item")]
    for item_id in shown:
        for scale in ("emotion_recognition", "distress_normalization", "supportive_reflection", "perceived_empathy"):
            value = answer_for(key.loc[item_id], participant, rng)
            driver.find_element(By.CSS_SELECTOR, f'input[name="{item_id}-{scale}"][value="{value}"]').click()
    driver.find_element(By.ID, "save").click()
    saved = downloads / f"{participant}-responses.csv"
    deadline = time.monotonic() + 20
    while not saved.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert saved.exists(), f"no download from {form.name}: {driver.find_element(By.ID, 'status').text}"
    assert "Saved as" in driver.find_element(By.ID, "status").text
    return saved


def test_forms_filled_in_a_browser_save_csvs_that_import_and_analyse(study_dir, browser, tmp_path):
    driver, downloads = browser
    key = pd.read_csv(study_dir / "key.csv", dtype=str, keep_default_na=False).set_index("item_id")
    assignments = pd.read_csv(study_dir / "assignments.csv", dtype=str)
    rng = random.Random(0)
    saved = [fill_and_save(driver, downloads, form, key, rng) for form in sorted((study_dir / "forms").glob("*.html"))]
    assert len(saved) == RATERS
    for path in saved:
        responses = pd.read_csv(path, dtype=str)
        participant = path.name.removesuffix("-responses.csv")
        assert list(responses.columns) == ["participant_id", "item_id", "emotion_recognition", "distress_normalization",
                                           "supportive_reflection", "perceived_empathy", "age", "gender", "education",
                                           "duration_seconds"]
        mine = assignments[assignments["participant_id"] == participant]
        mine = mine.sort_values("position", key=lambda p: p.astype(int))
        assert list(responses["item_id"]) == list(mine["item_id"])  # every assigned item, in the form's order
        assert set(responses["participant_id"]) == {participant} and responses["item_id"].isin(key.index).all()
        assert (responses["age"] == AGES[f"P{int(participant[1:])}"]).all() and (responses["gender"] == "woman").all()
        assert responses["duration_seconds"].astype(float).ge(0).all()
    imported_and_analysed(study_dir, saved, tmp_path)


def imported_and_analysed(study_dir: Path, saved: list[Path], tmp_path: Path) -> None:
    """The importer reads the saved CSVs with the spec the build wrote; the analysis fits them."""
    from launch.study import main

    out = tmp_path / "analysis.json"
    assert main(["analyse", *map(str, saved), "--spec", str(study_dir / "spec.yaml"), "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["design"] == "crossed" and result["participants_before_exclusions"] == RATERS
    assert [e["participant"] for e in result["excluded"]] == [CARELESS] and result["n_participants"] == RATERS - 1
    assert set(result["outcomes"]) == {"emotion_recognition", "distress_normalization", "supportive_reflection",
                                       "perceived_empathy"}
    # the answers rated the reference replies higher: through the forms' item ids and the key, every other
    # system comes out below it (the key joined each answer to the system that wrote the reply)
    effects = {e["term"]: e["estimate"] for e in result["outcomes"]["perceived_empathy"]["effects"]}
    assert set(effects) == {f"system[{model}/{condition}]" for model in MODELS for condition in CONDITIONS}
    assert all(estimate < 0 for estimate in effects.values()), effects
