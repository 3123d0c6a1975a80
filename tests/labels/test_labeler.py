"""Tests for `stance label`: pipe and pseudo-terminal sessions, crash safety, undo, --set, ordering."""

from __future__ import annotations

import io
import os
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from labelkit import HEADER, rows, write

from pipeline.cli import main
from pipeline.labels.labeler import build_queue, model_guesses, run_session

try:
    from conftest import record_trusted
except ImportError:  # pragma: no cover - run as a package
    from tests.conftest import record_trusted
from pipeline.labels.file import read_labels
from pipeline.labels.stage import read_sentences

SENTENCES = """sentence_id,article_id,position,paragraph,start,end,text
a0,art1,0,0,0,39,The Council welcomed the new sanctions.
a1,art1,1,0,40,100,"Russia said sanctions must be eased, citing ""humanitarian"" harm."
a2,art1,2,0,101,128,The meeting rose at 11 a.m.
b0,art2,0,0,0,31,China opposed further measures.
b1,art2,1,0,32,80,The panel of experts will report in six months.
"""
TIMEOUT = 30.0  # generous upper bound for a subprocess to react; not a speed target


@pytest.fixture
def project(tmp_path):
    write(tmp_path / "sentences.csv", SENTENCES)
    return tmp_path


def label_cmd(project: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "pipeline.cli", "label", "--sentences", str(project / "sentences.csv"),
            "--labels", str(project / "labels.csv"), *extra]


def run_piped(project: Path, answers: str, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(label_cmd(project, *extra), input=answers, capture_output=True, text=True,
                          cwd=project, timeout=120)


class Output:
    """Collects a child's output from a file descriptor in a background thread."""

    def __init__(self, fd: int):
        self.fd, self.buf, self.lock, self.stop = fd, b"", threading.Lock(), False
        self.thread = threading.Thread(target=self._pump, daemon=True)
        self.thread.start()

    def _pump(self) -> None:
        while not self.stop:
            ready, _, _ = select.select([self.fd], [], [], 0.05)
            if not ready:
                continue
            try:
                data = os.read(self.fd, 4096)
            except OSError:
                return
            if not data:
                return
            with self.lock:
                self.buf += data

    def close(self) -> None:
        """Stop the reader thread, then close the fd. Closing first would let the thread read
        from whatever file reuses the fd number next (the labels file the test then checks)."""
        self.stop = True
        self.thread.join(timeout=TIMEOUT)
        os.close(self.fd)

    def text(self) -> str:
        with self.lock:
            return self.buf.decode("utf-8", "replace")

    def wait_for(self, needle: str, count: int = 1) -> str:
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            if self.text().count(needle) >= count:
                return self.text()
            time.sleep(0.01)
        raise AssertionError(f"timed out waiting for {needle!r} x{count}; output so far:\n{self.text()}")


# ---------------------------------------------------------------------------------------------
# Driven through a pipe
# ---------------------------------------------------------------------------------------------

def test_pipe_session_labels_skips_undoes_and_keeps_order(project):
    write(project / "labels.csv", HEADER + "b1,neutral,The panel of experts will report in six months.,hand\n"
                                           "a2,,The meeting rose at 11 a.m.,look again\n")
    # a0 -> support; a1 skip; undo (back to a1); a1 -> "oppose" typed as a word; a2 fills the blank row;
    # "x" is unknown; b0 -> neutral then undo (row removed), then quit.
    proc = run_piped(project, "s\nk\nu\noppose\nn\nx\n\nn\nu\nq\n")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "3 unlabeled" not in out and "4 unlabeled in all articles" in out
    assert "--- 1 of 4 --- article art1, position 0, id a0" in out
    assert "[s] support  [o] oppose  [n] neutral  [k] skip  [u] undo  [q] quit  [?] help" in out
    assert "before: (start of article)" in out
    assert "after:  Russia said sanctions must be eased" in out
    assert "unknown key 'x'" in out
    assert "undo: back to skipped sentence a1" in out
    assert "undo: b0 is unlabeled again (saved)" in out
    assert rows(project / "labels.csv") == [
        ["sentence_id", "label", "text", "note"],
        ["b1", "neutral", "The panel of experts will report in six months.", "hand"],  # untouched
        ["a2", "neutral", "The meeting rose at 11 a.m.", "look again"],               # updated in place
        ["a0", "support", "The Council welcomed the new sanctions.", ""],             # appended
        ["a1", "oppose", 'Russia said sanctions must be eased, citing "humanitarian" harm.', ""],
    ]
    assert "session: 3 labeled, 0 skipped, 1 undone" in out


def test_undo_restores_previous_row_and_end_of_queue(project):
    write(project / "labels.csv", HEADER + "a0,,The Council welcomed the new sanctions.,keep me\n")
    before = (project / "labels.csv").read_bytes()
    proc = run_piped(project, "o\nu\n", "--article", "art1")
    assert proc.returncode == 0, proc.stderr
    assert "undo: a0 is unlabeled again (saved)" in proc.stdout
    assert (project / "labels.csv").read_bytes() == before  # blank label and note restored exactly

    # Finish a whole article, then undo from the "no more sentences" screen.
    proc = run_piped(project, "s\no\nn\nu\nq\n", "--article", "art1")
    assert "No more sentences in this queue (3)" in proc.stdout
    assert [r[:2] for r in rows(project / "labels.csv")] == [
        ["sentence_id", "label"], ["a0", "support"], ["a1", "oppose"]]
    assert "u\nnothing to undo" not in proc.stdout


def test_nothing_to_undo_help_and_eof(project):
    proc = run_piped(project, "u\n?\n")  # then EOF: quits cleanly
    assert proc.returncode == 0
    assert "nothing to undo in this session" in proc.stdout
    assert "on a pipe: one key or word" in proc.stdout
    assert not (project / "labels.csv").exists()  # nothing answered, nothing written


def test_help_shows_the_current_sentence_again(project):
    proc = run_piped(project, "s\n?\nq\n")
    assert proc.returncode == 0
    after_help = proc.stdout.split("on a pipe: one key or word", 1)[1]
    # the sentence being answered (a1, the second) is shown again after the help text
    assert "id a1" in after_help and "Russia said sanctions must be eased" in after_help
    assert "[s] support  [o] oppose" in after_help


def test_only_one_article_and_unknown_article(project):
    proc = run_piped(project, "q\n", "--article", "art2")
    assert "2 unlabeled in article art2" in proc.stdout
    assert "id b0" in proc.stdout and "id a0" not in proc.stdout
    proc = run_piped(project, "q\n", "--article", "nope")
    assert proc.returncode == 2 and "no article with article_id 'nope'" in proc.stderr


def test_nothing_left_to_label(project):
    write(project / "labels.csv", HEADER + "b0,oppose,China opposed further measures.,\n"
                                           "b1,neutral,The panel of experts will report in six months.,\n")
    proc = run_piped(project, "", "--article", "art2")
    assert proc.returncode == 0
    assert "0 unlabeled in article art2" in proc.stdout and "nothing to label here" in proc.stdout


def test_labeler_refuses_an_invalid_labels_file_and_leaves_it_alone(project):
    bad = HEADER + "a0,support,t,\na0,oppose,t,\n"
    write(project / "labels.csv", bad)
    proc = run_piped(project, "s\n")
    assert proc.returncode == 2
    assert "conflicting labels: line 2 says 'support', line 3 says 'oppose'" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert (project / "labels.csv").read_text() == bad


def test_hand_edits_between_answers_are_kept(project):
    """Each answer re-reads the file, so rows added in an editor meanwhile survive."""
    labels = project / "labels.csv"
    sentences = read_sentences(project / "sentences.csv")

    class Keys:
        raw = False

        def __init__(self):
            self.keys = iter(["s", "EDIT", "o", "q"])

        def read(self):
            key = next(self.keys)
            if key == "EDIT":
                with open(labels, "a", encoding="utf-8", newline="") as fh:
                    fh.write("b1,neutral,added by hand,\n")
                return ""
            return key

    out = io.StringIO()
    stats = run_session(sentences, labels, ["a0", "a1"], {}, Keys(), out)
    assert stats == {"labeled": 2, "skipped": 0, "undone": 0}
    assert [r[:2] for r in rows(labels)] == [["sentence_id", "label"], ["a0", "support"],
                                             ["b1", "neutral"], ["a1", "oppose"]]


# ---------------------------------------------------------------------------------------------
# Crash safety: SIGKILL and SIGINT in the middle of a session
# ---------------------------------------------------------------------------------------------

def start(project: Path, *extra: str) -> tuple[subprocess.Popen, Output]:
    proc = subprocess.Popen(label_cmd(project, *extra), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=project)
    return proc, Output(proc.stdout.fileno())


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_killed_while_waiting_for_input_loses_nothing(project, sig):
    proc, out = start(project)
    try:
        out.wait_for("--- 1 of 5")
        proc.stdin.write(b"s\n")
        proc.stdin.flush()
        out.wait_for("--- 2 of 5")
        proc.stdin.write(b"o\n")
        proc.stdin.flush()
        out.wait_for("--- 3 of 5")  # the second answer is saved; the session waits for the third
        proc.send_signal(sig)
        code = proc.wait(timeout=TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert code == (-signal.SIGKILL if sig == signal.SIGKILL else 130)
    if sig == signal.SIGINT:
        err = proc.stderr.read().decode()
        assert "stance label: interrupted" in err and "Traceback" not in err
    assert [r[:2] for r in rows(project / "labels.csv")] == [["sentence_id", "label"], ["a0", "support"],
                                                             ["a1", "oppose"]]


BURST = 60


@pytest.fixture
def big_project(tmp_path):
    lines = ["sentence_id,article_id,position,paragraph,start,end,text"]
    lines += [f"s{i:03d},art,{i},0,0,0,Sentence number {i} about sanctions." for i in range(BURST)]
    write(tmp_path / "sentences.csv", "\n".join(lines) + "\n")
    return tmp_path


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_killed_during_a_burst_of_answers_leaves_a_valid_prefix(big_project, sig):
    """All answers arrive at once; the process is killed while it is saving them one by one."""
    answers = [("s", "support"), ("o", "oppose"), ("n", "neutral")]
    expected = [(f"s{i:03d}", answers[i % 3][1]) for i in range(BURST)]
    proc, out = start(big_project)
    try:
        out.wait_for("--- 1 of")
        proc.stdin.write("".join(answers[i % 3][0] + "\n" for i in range(BURST)).encode())
        proc.stdin.flush()
        out.wait_for("saved:", count=5)
        proc.send_signal(sig)
        proc.wait(timeout=TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
    time.sleep(0.05)
    seen_saved = out.text().count("saved:")
    got = [tuple(r[:2]) for r in rows(big_project / "labels.csv")[1:]]
    assert got == expected[: len(got)]          # a valid file holding a prefix of the answers
    assert len(got) >= seen_saved >= 5          # every answer reported as saved is on disk
    read_labels(big_project / "labels.csv")     # and it passes full validation


# ---------------------------------------------------------------------------------------------
# Driven through a pseudo-terminal: single keys, no Enter
# ---------------------------------------------------------------------------------------------

def _pty_session(project: Path):
    import fcntl
    import pty
    import termios

    master, slave = pty.openpty()

    def controlling_tty():  # make the pty the child's controlling terminal, so Ctrl-C works
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    proc = subprocess.Popen(label_cmd(project), stdin=slave, stdout=slave, stderr=slave, cwd=project,
                            preexec_fn=controlling_tty, close_fds=True)
    return proc, master, slave, Output(master)


def _terminal_is_cooked(fd: int) -> bool:
    import termios

    lflag = termios.tcgetattr(fd)[3]
    return bool(lflag & termios.ICANON) and bool(lflag & termios.ECHO)


def test_pty_single_keys_without_enter(project):
    proc, master, slave, out = _pty_session(project)
    try:
        out.wait_for("--- 1 of 5")
        assert _terminal_is_cooked(slave) is False  # cbreak mode while labeling
        os.write(master, b"s")
        out.wait_for("saved: support")
        os.write(master, b"x")
        out.wait_for("unknown key 'x'")
        os.write(master, b"O")  # upper case works too
        out.wait_for("saved: oppose")
        os.write(master, b"u")
        out.wait_for("undo: a1 is unlabeled again")
        os.write(master, b"k")
        out.wait_for("skipped")
        os.write(master, b"n")
        out.wait_for("saved: neutral")
        os.write(master, b"q")
        assert proc.wait(timeout=TIMEOUT) == 0
        out.wait_for("session: 2 labeled, 1 skipped, 1 undone")
        assert _terminal_is_cooked(slave)  # terminal settings restored
    finally:
        if proc.poll() is None:
            proc.kill()
        out.close()
        os.close(slave)
    assert [r[:2] for r in rows(project / "labels.csv")] == [["sentence_id", "label"], ["a0", "support"],
                                                             ["a2", "neutral"]]


def test_pty_ctrl_c_quits_saves_and_restores_terminal(project):
    proc, master, slave, out = _pty_session(project)
    try:
        out.wait_for("--- 1 of 5")
        os.write(master, b"n")
        out.wait_for("saved: neutral")
        out.wait_for("--- 2 of 5")
        os.write(master, b"\x03")  # Ctrl-C typed at the terminal
        assert proc.wait(timeout=TIMEOUT) == 130
        assert _terminal_is_cooked(slave)
        assert "Traceback" not in out.text()
    finally:
        if proc.poll() is None:
            proc.kill()
        out.close()
        os.close(slave)
    assert [r[:2] for r in rows(project / "labels.csv")] == [["sentence_id", "label"], ["a0", "neutral"]]


# ---------------------------------------------------------------------------------------------
# --set
# ---------------------------------------------------------------------------------------------

def test_set_adds_updates_in_place_and_validates(project, capsys):
    labels = write(project / "labels.csv", HEADER + "b1,neutral,my own copy of the text,first\n"
                                                    "a2,support,The meeting rose at 11 a.m.,\n")
    base = ["label", "--sentences", str(project / "sentences.csv"), "--labels", str(labels), "--set"]
    assert main(base + ["a0", "oppose"]) == 0
    assert "a0 = oppose (new row)" in capsys.readouterr().out
    assert main(base + ["b1", "support"]) == 0
    assert "b1 = support (was 'neutral')" in capsys.readouterr().out
    assert main(base + ["a2", "neutral", "--note", "checked"]) == 0
    assert rows(labels) == [
        ["sentence_id", "label", "text", "note"],
        ["b1", "support", "my own copy of the text", "first"],  # text and note kept
        ["a2", "neutral", "The meeting rose at 11 a.m.", "checked"],
        ["a0", "oppose", "The Council welcomed the new sanctions.", ""],
    ]
    before = labels.read_bytes()
    assert main(base + ["zz", "support"]) == 2
    assert "sentences.csv: no sentence with sentence_id 'zz'" in capsys.readouterr().err
    assert main(base + ["a0", "Opposed"]) == 2
    assert "unknown label 'Opposed'" in capsys.readouterr().err
    assert labels.read_bytes() == before


def test_set_creates_a_missing_labels_file(project, capsys):
    labels = project / "sub" / "labels.csv"
    assert main(["label", "--sentences", str(project / "sentences.csv"), "--labels", str(labels),
                 "--set", "b0", "oppose"]) == 0
    assert rows(labels) == [["sentence_id", "label", "text", "note"],
                            ["b0", "oppose", "China opposed further measures.", ""]]


# ---------------------------------------------------------------------------------------------
# Active learning with a tiny fixture model
# ---------------------------------------------------------------------------------------------

AL_SENTENCES = """sentence_id,article_id,position,paragraph,start,end,text
p0,art1,0,0,0,0,We welcome and welcome these welcome sanctions.
p1,art1,1,0,0,0,We welcome some sanctions but reject others.
p2,art1,2,0,0,0,The chair noted and noted the noted report.
p3,art2,0,0,0,0,We reject and reject these reject sanctions.
"""


@pytest.fixture
def al_model(tmp_path):
    import joblib
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    texts = ["we welcome sanctions", "welcome strong sanctions", "we reject sanctions",
             "reject these sanctions", "the chair noted the report", "noted without comment"]
    y = ["support", "support", "oppose", "oppose", "neutral", "neutral"]
    model = make_pipeline(CountVectorizer(), LogisticRegression(C=10.0, max_iter=1000)).fit(texts, y)
    path = tmp_path / "models" / "model.joblib"
    path.parent.mkdir(parents=True)
    joblib.dump(model, path)
    record_trusted(path, tmp_path)
    write(tmp_path / "sentences.csv", AL_SENTENCES)
    return model, path


def test_uncertainty_order_puts_smallest_margin_first(tmp_path, al_model):
    model, _path = al_model
    sentences = read_sentences(tmp_path / "sentences.csv")
    ids, guesses = build_queue(sentences, set(), order="uncertainty", model=model)
    probs = model.predict_proba([sentences.get(s)["text"] for s in ["p0", "p1", "p2", "p3"]])
    margins = {}
    for sid, row in zip(["p0", "p1", "p2", "p3"], probs):
        top = sorted(row, reverse=True)
        margins[sid] = top[0] - top[1]
    assert ids == sorted(margins, key=margins.get)
    assert ids[0] == "p1"  # the mixed welcome/reject sentence is the uncertain one
    assert guesses["p0"]["label"] == "support" and guesses["p3"]["label"] == "oppose"
    assert guesses["p1"]["margin"] == pytest.approx(margins["p1"])
    article_ids, _ = build_queue(sentences, {"p2"}, order="article", model=model)
    assert article_ids == ["p0", "p1", "p3"]


def test_cli_uses_default_model_and_shows_guess(tmp_path, al_model):
    # The model sits at models/model.joblib under the working directory: auto order = uncertainty.
    proc = run_piped(tmp_path, "q\n")
    assert proc.returncode == 0, proc.stderr
    assert "order: uncertainty (smallest model margin first)" in proc.stdout
    assert "--- 1 of 4 --- article art1, position 1, id p1" in proc.stdout
    assert "model guess: " in proc.stdout and "margin" in proc.stdout
    proc = run_piped(tmp_path, "q\n", "--order", "article")
    assert "--- 1 of 4 --- article art1, position 0, id p0" in proc.stdout
    assert "model guess: support" in proc.stdout
    proc = run_piped(tmp_path, "q\n", "--no-model")
    assert "order: article" in proc.stdout and "model guess" not in proc.stdout


def test_uncertainty_without_model_or_with_broken_model_is_an_error(project):
    proc = run_piped(project, "q\n", "--order", "uncertainty")
    assert proc.returncode == 2 and "needs a model" in proc.stderr
    write(project / "broken.joblib", "not a pickle")
    proc = run_piped(project, "q\n", "--model", str(project / "broken.joblib"))
    assert proc.returncode == 2 and "broken.joblib was not produced by this project's training" in proc.stderr
    proc = run_piped(project, "q\n", "--model", str(project / "broken.joblib"), "--trust-model")
    assert proc.returncode == 2 and "broken.joblib is corrupt" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_model_guesses_with_decision_function_only():
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.pipeline import make_pipeline
    from sklearn.svm import LinearSVC

    model = make_pipeline(CountVectorizer(), LinearSVC()).fit(
        ["welcome", "reject", "noted", "welcome it", "reject it", "noted it"],
        ["support", "oppose", "neutral", "support", "oppose", "neutral"])
    out = model_guesses(model, ["welcome", "reject welcome"])
    assert out[0]["label"] == "support" and out[0]["kind"] == "score"
    assert out[1]["margin"] < out[0]["margin"]
