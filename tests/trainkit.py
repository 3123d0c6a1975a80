"""The train fixture shared by the test modules: 6 invented articles x 8 sentences (labels
written by hand for these tests; test data only, never written to data/labels/), the project's
params made small, and ``stance train`` on them.
"""

from __future__ import annotations

import csv
from pathlib import Path

import yaml

from pipeline.cli import main

REPO = Path(__file__).resolve().parents[1]

# Hand-written fixture: invented sentences in the style of UN/US/Treasury statements.
ARTICLES: dict[str, list[tuple[str, str]]] = {
    "a1": [
        ("The United States calls on every member state to fully enforce the sanctions on North Korea.", "support"),
        ("We will tighten sanctions until Pyongyang abandons its nuclear weapons programme.", "support"),
        ("The Security Council met on Monday in New York.", "neutral"),
        ("The resolution was adopted by a vote of 15 to 0.", "neutral"),
        ("Easing sanctions now would reward the regime for its provocations.", "support"),
        ("Some delegations argued that sanctions hurt ordinary people, but we must keep up the pressure.", "support"),
        ("China and Russia proposed lifting the ban on seafood and textile exports.", "oppose"),
        ("The ambassador spoke for twelve minutes.", "neutral"),
    ],
    "a2": [
        ("Russia opposes any new sanctions against the DPRK.", "oppose"),
        ("Sanctions have not brought the parties closer to a settlement and should be eased.", "oppose"),
        ("We vetoed the draft because it only tightened the pressure on civilians.", "oppose"),
        ("The draft resolution was circulated last week.", "neutral"),
        ("Moscow urges the Council to lift restrictions on humanitarian deliveries.", "oppose"),
        ("The meeting was chaired by the representative of Malta.", "neutral"),
        ("We do not support further punitive measures.", "oppose"),
        ("Russia supports the full implementation of existing resolutions, but rejects new restrictions.", "oppose"),
    ],
    "a3": [
        ("The Panel of Experts reported that coal shipments continued through ship-to-ship transfers.", "neutral"),
        ("The report covers the period from August to January.", "neutral"),
        ("Member states must redouble their efforts to implement the measures.", "support"),
        ("The Panel recommended designating five additional vessels.", "support"),
        ("Several states did not submit implementation reports.", "neutral"),
        ("The mandate of the Panel expired on 30 April.", "neutral"),
        ("Critics said the sanctions regime has become counterproductive.", "oppose"),
        ("Japan welcomed the decision to impose an asset freeze on the trading company.", "support"),
    ],
    "a4": [
        ("Treasury today sanctioned a bank that helped North Korea access the financial system.", "support"),
        ("Those who enable the regime's weapons programs will face severe consequences.", "support"),
        ("The designation freezes any assets held in US jurisdiction.", "neutral"),
        ("The bank is headquartered in Dandong, a city on the border.", "neutral"),
        ("We will never ease the pressure on Pyongyang while it threatens its neighbours.", "support"),
        ("China has called such unilateral sanctions illegal and asked Washington to withdraw them.", "oppose"),
        ("The Secretary made the announcement in a press briefing.", "neutral"),
        ("Beijing says sanctions relief should be considered in return for a freeze.", "oppose"),
    ],
    "a5": [
        ("Several speakers said the veto was used to shield the DPRK from accountability.", "support"),
        ("China argued that the Council should adjust the sanctions in light of the humanitarian situation.", "oppose"),
        ("The General Assembly debate lasted two days.", "neutral"),
        ("The representative of Syria rejected what he called the politicisation of sanctions.", "oppose"),
        ("South Korea urged all members to keep the sanctions fully in force.", "support"),
        ("The debate followed the veto cast on 26 May.", "neutral"),
        ("The sanctions should be lifted so that the people can rebuild the economy.", "oppose"),
        ("The European Union will continue to strengthen its autonomous sanctions.", "support"),
    ],
    "a6": [
        ("Analysts expect the talks to resume next month.", "neutral"),
        ("Washington refused to ease the sanctions before complete denuclearisation.", "support"),
        ("Pyongyang demanded the removal of all sanctions as a condition for dialogue.", "oppose"),
        ("The summit took place in Hanoi.", "neutral"),
        ("The Council condemned the launch and vowed to tighten enforcement.", "support"),
        ("Moscow said sanctions are a dead end and called for relief.", "oppose"),
        ("Officials did not comment on the shipment.", "neutral"),
        ("The missile flew about 900 kilometres before falling into the sea.", "neutral"),
    ],
}


def write_dataset(path: Path, articles: dict[str, list[tuple[str, str]]] | None = None) -> Path:
    """Write the fixture as a dataset.csv (columns of the data contract)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["sentence_id", "article_id", "position", "text", "label"])
        for article, rows in (articles or ARTICLES).items():
            for i, (text, label) in enumerate(rows):
                w.writerow([f"{article}-{i:02d}", article, i, text, label])
    return path


def project_params() -> dict:
    """The project's params.yaml, parsed."""
    return yaml.safe_load((REPO / "params.yaml").read_text(encoding="utf-8"))


def small_params(char: bool = False) -> dict:
    """The project's params.yaml with a one-candidate grid and few seeds/replicates (fast tests)."""
    params = project_params()
    train = params["train"]
    train["grid"] = {name: {"C": [1.0]} if name != "sgd" else {"alpha": [1e-4]}
                     for name in ("logreg", "linearsvc", "sgd")}
    train["features"]["char"]["enabled"] = char
    params["evaluate"].update({"seeds": [0, 1], "bootstrap": 200, "inner_folds": 2})
    params["evaluate"]["learning_curve"].update({"fractions": [0.7, 1.0], "seeds": [0]})
    # Fixture articles a1-a3 are "official", the others fall back to "news".
    params["evaluate"]["cross_source"].update({"kinds": {"official": ["\\ba[123]$"]}, "default_kind": "news"})
    # The fixture articles have no row in the project's data/articles_meta.csv: cross-target is
    # tested with a table of its own (tests/evaluate/test_calibration_targets.py).
    params["evaluate"]["cross_target"]["enabled"] = False
    return params


def tfidf_only(params: dict) -> dict:
    """*params* (the whole file or its ``train`` section) with the static-embedding block off and
    no calibration: the TF-IDF model alone, a plain scikit-learn object (in place; returned)."""
    train = params.get("train", params)
    train["features"]["static"]["enabled"] = False
    train["calibration"] = "none"
    for grid in (train.get("grid") or {}).values():
        (grid.get("features") or {}).pop("static", None)
    return params


def train_fixture(base: Path, params: dict) -> dict:
    """``stance train`` on the fixture dataset with *params*, all files under *base*: a dict of
    the paths (``base``, ``dataset``, ``params_path``, ``model``, ``train_report``) and ``params``."""
    dataset = write_dataset(base / "dataset.csv")
    params_path = write_params(base / "params.yaml", params)
    assert main(["train", "--params", str(params_path), "--dataset", str(dataset),
                 "--model", str(base / "model.joblib"), "--report", str(base / "train.json")]) == 0
    return {"base": base, "dataset": dataset, "params": params, "params_path": params_path,
            "model": base / "model.joblib", "train_report": base / "train.json"}


def write_params(path: Path, params: dict) -> Path:
    path.write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")
    return path


def killed_mlflow_run(uri: str, experiment_id: str, *, register: bool = False, version: bool = False) -> str:
    """The id of an MLflow run started (with the owner tags) by a child process that was then killed
    with SIGKILL while logging: with *register* it first created the registered model
    ``sanctions-stance``, with *version* a version of it pointing at that run."""
    import os
    import subprocess
    import sys

    steps = [f"mlflow.set_tracking_uri({uri!r})", f"run = mlflow.start_run(experiment_id={experiment_id!r})",
             "mlflow.set_tags(owner_tags())"]
    if register or version:
        steps.append(f"c = MlflowClient(tracking_uri=mlflow.get_tracking_uri(), registry_uri={uri!r})")
    if register:
        steps.append("c.create_registered_model('sanctions-stance')")
    if version:
        steps.append("c.create_model_version('sanctions-stance', 'file:///nowhere', run_id=run.info.run_id)")
    code = ("import os, signal, mlflow; from mlflow.tracking import MlflowClient; "
            "from pipeline.tracking.store import owner_tags; " + "; ".join(steps)
            + "; print(run.info.run_id, flush=True); os.kill(os.getpid(), signal.SIGKILL)")
    env = dict(os.environ, MLFLOW_DISABLE_TELEMETRY="true")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == -9, proc.stderr[-2000:]
    return proc.stdout.split()[-1]
