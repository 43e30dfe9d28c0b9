import ctypes
import errno
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rnnkit import fileio
from rnnkit.errors import ConfigError
from rnnkit.fileio import (
    MARKER_NAME,
    atomic_directory,
    check_output_dir,
    json_safe,
    write_json,
    write_text,
)

ROOT = Path(__file__).resolve().parents[1]
REFUSED = r"pass --overwrite \(overwrite=True\) to replace it"


def snapshot(folder: Path) -> dict[str, str | None]:
    """Every entry below ``folder``: file -> its text, folder -> None."""
    out = {}
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            p = Path(root) / name
            out[p.relative_to(folder).as_posix()] = None if p.is_dir() else p.read_text()
    return out


def others(target: Path) -> list[str]:
    """Names beside ``target`` in its folder: the temporaries a write left behind."""
    return sorted(p.name for p in target.parent.iterdir() if p.name != target.name)


def write_run(target: Path, run: str, **kwargs) -> None:
    """An output folder like a command's: files, a sub-folder, a nested model folder."""
    with atomic_directory(target, what="test", **kwargs) as tmp:
        (tmp / "metrics.json").write_text(run)
        (tmp / "plots").mkdir()
        (tmp / "plots" / f"{run}.png").write_text(run)
        with atomic_directory(tmp / "model", what="model") as model:
            (model / "weights").write_text(run)


@pytest.fixture
def runs(tmp_path):
    """The complete listings of run "old" and run "new", written to a scratch folder."""
    found = {}
    for run in ("old", "new"):
        write_run(tmp_path / "ref" / run, run)
        found[run] = snapshot(tmp_path / "ref" / run)
    return found


@pytest.fixture(params=["renameat2", "fallback"])
def swap_mode(request, monkeypatch):
    if request.param == "renameat2":
        if fileio._libc_renameat2() is None:
            pytest.skip("no renameat2 in this C library")
    else:
        monkeypatch.setattr(fileio, "_USE_RENAMEAT2", False)
    return request.param


# ---------------------------------------------------------------------------- JSON
def no_constants(name):
    raise AssertionError(f"bare {name} in JSON output")


def test_write_json_writes_non_finite_floats_as_null(tmp_path):
    obj = {"z": float("nan"), "a": (1.5, float("inf")), "n": {"x": -float("inf")},
           "np": np.float32("nan"), "arr": np.array([[1.0, np.nan], [np.inf, 2.0]]),
           "i": np.int64(3), "ok": True, "none": None, "s": "NaN"}
    write_json(tmp_path / "m.json", obj)
    text = (tmp_path / "m.json").read_text()
    got = json.loads(text, parse_constant=no_constants)
    assert got == {"z": None, "a": [1.5, None], "n": {"x": None}, "np": None,
                   "arr": [[1.0, None], [None, 2.0]], "i": 3, "ok": True, "none": None,
                   "s": "NaN"}
    assert list(got) == list(obj)  # key order kept
    assert text.endswith("}\n")


def test_json_safe_converts_numpy_and_keeps_other_values():
    assert json_safe({np.int64(2): np.float64(0.5), "t": (np.bool_(True), [np.inf])}) == {
        2: 0.5, "t": [True, [None]]}
    assert type(json_safe(np.float64(0.5))) is float
    marker = object()
    assert json_safe([marker])[0] is marker


def test_write_json_still_refuses_what_json_cannot_hold(tmp_path):
    with pytest.raises(TypeError, match=r"not JSON serializable"):
        write_json(tmp_path / "m.json", {"a": object()})
    assert not (tmp_path / "m.json").exists()
    assert list(tmp_path.iterdir()) == []


def test_write_text_replaces_atomically_with_usual_mode(tmp_path):
    write_text(tmp_path / "a.txt", "one")
    write_text(tmp_path / "a.txt", "two")
    assert (tmp_path / "a.txt").read_text() == "two"
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o666 & ~fileio._umask()
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


# ---------------------------------------------------------------------- ownership
def test_missing_target_is_fine_and_parents_are_created(tmp_path):
    target = tmp_path / "a" / "b" / "out"
    assert check_output_dir(target) == target
    assert target.parent.is_dir() and not target.exists()
    assert others(target) == []  # the write probe is gone
    write_run(target, "new")
    assert (target / "metrics.json").read_text() == "new"


def test_an_empty_folder_is_fine(tmp_path, runs):
    (tmp_path / "out").mkdir()
    check_output_dir(tmp_path / "out")
    write_run(tmp_path / "out", "new")
    assert snapshot(tmp_path / "out") == runs["new"]


def test_the_reported_case_refuses_before_any_work(tmp_path):
    (tmp_path / "sb" / "model").mkdir(parents=True)
    (tmp_path / "sb" / "model" / "important.py").write_text("x")
    before = snapshot(tmp_path)
    msg = rf"output folder {re.escape(str(tmp_path / 'sb'))} holds 'model', which rnnkit did "
    with pytest.raises(ConfigError, match=msg + r"not write; " + REFUSED):
        check_output_dir(tmp_path / "sb")
    ran = []
    with pytest.raises(ConfigError, match=REFUSED), atomic_directory(tmp_path / "sb") as tmp:
        ran.append(tmp)  # never reached: refused on entry
    assert ran == [] and snapshot(tmp_path) == before


def test_overwrite_replaces_foreign_content_whole(tmp_path, runs):
    (tmp_path / "out" / "model").mkdir(parents=True)
    (tmp_path / "out" / "model" / "important.py").write_text("x")
    check_output_dir(tmp_path / "out", overwrite=True)
    write_run(tmp_path / "out", "new", overwrite=True)
    assert snapshot(tmp_path / "out") == runs["new"]
    assert others(tmp_path / "out") == ["ref"]


def test_a_file_added_to_an_rnnkit_folder_is_foreign(tmp_path):
    write_run(tmp_path / "out", "old")
    (tmp_path / "out" / "model" / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match=r"holds 'model/notes.txt', which rnnkit did not"):
        write_run(tmp_path / "out", "new")
    assert (tmp_path / "out" / "model" / "notes.txt").read_text() == "mine"
    assert (tmp_path / "out" / "metrics.json").read_text() == "old"


def test_the_marker_lists_what_rnnkit_wrote(tmp_path):
    write_run(tmp_path / "out", "old")
    marker = json.loads((tmp_path / "out" / MARKER_NAME).read_text())
    assert marker == {"written_by": "rnnkit", "version": fileio.__version__, "what": "test",
                      "files": ["metrics.json", "model", "model/.rnnkit", "model/weights",
                                "plots", "plots/old.png"]}
    assert json.loads((tmp_path / "out" / "model" / MARKER_NAME).read_text())["what"] == "model"


def test_a_marker_not_written_by_rnnkit_does_not_count(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / MARKER_NAME).write_text('{"written_by": "someone"}')
    with pytest.raises(ConfigError, match=r"holds '.rnnkit', which rnnkit did not write"):
        check_output_dir(tmp_path / "out")


def test_a_model_folder_of_an_earlier_version_counts_as_rnnkits(tmp_path):
    old = tmp_path / "m"
    old.mkdir()
    (old / "config.json").write_text('{"format": "rnnkit.model", "format_version": 1}')
    (old / "model.safetensors").write_text("weights")
    check_output_dir(old)
    (old / "train.py").write_text("mine")
    with pytest.raises(ConfigError, match=r"holds 'train.py', which rnnkit did not write"):
        check_output_dir(old)
    (old / "train.py").unlink()
    (old / "config.json").write_text('{"format": "other"}')
    with pytest.raises(ConfigError, match=r"holds 'config.json', which rnnkit did not write"):
        check_output_dir(old)


@pytest.mark.parametrize("overwrite", [False, True])
def test_a_target_that_is_not_a_folder_is_refused(tmp_path, overwrite):
    (tmp_path / "f").write_text("data")
    (tmp_path / "link").symlink_to(tmp_path / "f")
    (tmp_path / "broken").symlink_to(tmp_path / "missing")
    with pytest.raises(ConfigError, match=rf"output folder {re.escape(str(tmp_path / 'f'))} "
                       r"exists and is not a folder; choose another path"):
        check_output_dir(tmp_path / "f", overwrite=overwrite)
    for name in ("link", "broken"):
        with pytest.raises(ConfigError, match=rf"output folder .*{name} is a link to .*, which "
                           r"is not a folder"), atomic_directory(tmp_path / name):
            pass
    assert (tmp_path / "f").read_text() == "data" and (tmp_path / "link").is_symlink()


def test_a_link_to_a_folder_is_followed(tmp_path, runs):
    write_run(tmp_path / "real", "old")
    (tmp_path / "link").symlink_to(tmp_path / "real")
    assert check_output_dir(tmp_path / "link") == tmp_path / "real"
    write_run(tmp_path / "link", "new")
    assert (tmp_path / "link").is_symlink()
    assert snapshot(tmp_path / "real") == runs["new"]


def test_a_parent_that_cannot_be_created_raises_its_oserror(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(OSError) as info:
        check_output_dir(tmp_path / "file" / "out")
    assert not isinstance(info.value, ConfigError)


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_an_unwritable_parent_fails_in_the_early_check(tmp_path):
    (tmp_path / "ro").mkdir(mode=0o555)
    with pytest.raises(PermissionError):
        check_output_dir(tmp_path / "ro" / "out")


# -------------------------------------------------------------------- replacement
def test_an_rnnkit_folder_is_replaced_whole_never_merged(tmp_path, runs, swap_mode):
    write_run(tmp_path / "out", "old")
    assert snapshot(tmp_path / "out") == runs["old"]
    write_run(tmp_path / "out", "new")
    assert snapshot(tmp_path / "out") == runs["new"]  # old.png is gone
    assert others(tmp_path / "out") == ["ref"]


def test_a_failing_body_leaves_the_old_folder_and_no_temporary(tmp_path, runs, swap_mode):
    write_run(tmp_path / "out", "old")
    with pytest.raises(RuntimeError, match="boom"), atomic_directory(tmp_path / "out") as tmp:
        (tmp / "new.txt").write_text("new")
        raise RuntimeError("boom")
    assert snapshot(tmp_path / "out") == runs["old"]
    assert others(tmp_path / "out") == ["ref"]


def test_foreign_content_arriving_during_the_work_is_refused_at_commit(tmp_path):
    write_run(tmp_path / "out", "old")
    with pytest.raises(ConfigError, match=r"holds 'late.txt'"), \
            atomic_directory(tmp_path / "out") as tmp:
        (tmp / "metrics.json").write_text("new")
        (tmp_path / "out" / "late.txt").write_text("a user's file")
    assert (tmp_path / "out" / "late.txt").exists()
    assert (tmp_path / "out" / "metrics.json").read_text() == "old"
    assert others(tmp_path / "out") == []


def test_every_entry_gets_the_usual_mode(tmp_path):
    previous = os.umask(0o027)
    try:
        with atomic_directory(tmp_path / "out") as tmp:
            os.close(os.open(tmp / "private", os.O_CREAT | os.O_WRONLY, 0o600))
            (tmp / "exec").write_text("x")
            (tmp / "exec").chmod(0o755)
            (tmp / "sub").mkdir(mode=0o700)
            (tmp / "sub" / "f").write_text("x")
            with atomic_directory(tmp / "model") as model:
                (model / "w").write_text("x")
    finally:
        os.umask(previous)
    out = tmp_path / "out"
    modes = {rel: (out / rel).stat().st_mode & 0o777 for rel in snapshot(out)}
    modes["."] = out.stat().st_mode & 0o777
    assert modes == {".": 0o750, "sub": 0o750, "model": 0o750, MARKER_NAME: 0o640,
                     "private": 0o640, "exec": 0o640, "sub/f": 0o640,
                     f"model/{MARKER_NAME}": 0o640, "model/w": 0o640}


def test_nested_folders_and_existing_callers_work(tmp_path):
    from rnnkit.nn import Dense
    from rnnkit.train import load_model, save_model

    with atomic_directory(tmp_path / "out", what="forecast") as tmp:
        save_model(Dense(2, 1), tmp / "model")
        write_json(tmp / "metrics.json", {"mae": float("nan")})
    save_model(Dense(2, 1), tmp_path / "out" / "model")  # the inner folder is rnnkit's too
    assert isinstance(load_model(tmp_path / "out" / "model"), Dense)
    assert others(tmp_path / "out") == []


# ------------------------------------------------------- temporaries and recovery
def test_stale_temporaries_are_removed_and_nothing_else(tmp_path, runs):
    write_run(tmp_path / "out", "old")
    stale = [".out.rnnkit-new-abc_12", ".out.rnnkit-old-xyz", ".out.rnnkit-new-q"]
    for name in stale:
        (tmp_path / name / "sub").mkdir(parents=True)
        (tmp_path / name / "sub" / "f").write_text("x")
    keep = [".out.rnnkit-new-abc.txt", ".outx.rnnkit-new-abc", ".out.other", "out2"]
    (tmp_path / keep[0]).write_text("a file, not ours")
    for name in keep[1:]:
        (tmp_path / name).mkdir()
    check_output_dir(tmp_path / "out")
    assert others(tmp_path / "out") == sorted([*keep, "ref"])
    assert snapshot(tmp_path / "out") == runs["old"]


def test_a_running_writers_temporary_is_left_alone(tmp_path, runs):
    with atomic_directory(tmp_path / "out") as tmp:
        (tmp / "a").write_text("first writer")
        write_run(tmp_path / "out", "new")  # a second writer, start to end, meanwhile
        assert tmp.is_dir() and (tmp / "a").exists()
    assert sorted(snapshot(tmp_path / "out")) == [MARKER_NAME, "a"]  # the last writer wins
    assert others(tmp_path / "out") == ["ref"]


def test_an_old_folder_left_aside_is_put_back_first(tmp_path, runs):
    write_run(tmp_path / "aside", "old")
    (tmp_path / "aside").rename(tmp_path / ".out.rnnkit-old-k1")
    (tmp_path / ".out.rnnkit-new-k1").mkdir()  # the half-built new folder of the same run
    (tmp_path / ".out.rnnkit-new-k1" / "metrics.json").write_text("new")
    check_output_dir(tmp_path / "out")
    assert snapshot(tmp_path / "out") == runs["old"]
    assert others(tmp_path / "out") == ["ref"]


# ------------------------------------------------------------------ the swap steps
def test_renameat2_exchanges_two_folders_and_reports_real_errors(tmp_path):
    if fileio._libc_renameat2() is None:
        pytest.skip("no renameat2 in this C library")
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "in_a").write_text("")
    (tmp_path / "b").mkdir()
    assert fileio._exchange(tmp_path / "a", tmp_path / "b")
    assert [p.name for p in (tmp_path / "b").iterdir()] == ["in_a"]
    with pytest.raises(FileNotFoundError):
        fileio._exchange(tmp_path / "a", tmp_path / "missing")


def test_einval_from_renameat2_falls_back_to_renames(tmp_path, runs, monkeypatch):
    calls = []

    def unsupported(*args):
        calls.append(args)
        ctypes.set_errno(errno.EINVAL)
        return -1

    monkeypatch.setattr(fileio, "_libc_renameat2", lambda: unsupported)
    write_run(tmp_path / "out", "old")
    write_run(tmp_path / "out", "new")
    assert len(calls) == 1 and snapshot(tmp_path / "out") == runs["new"]
    assert others(tmp_path / "out") == ["ref"]


class Killed(BaseException):
    """Stands for SIGKILL: once raised, no later file-system step runs."""


class Steps:
    """Wraps the swap's steps (exchange, rename, rmtree); fails at call number ``fail_at``.

    ``kill``: raise Killed and let no later step run; a kill inside an rmtree first removes
    one file. Otherwise: that one call raises OSError and the others run.
    """

    def __init__(self, monkeypatch, fail_at: int | None = None, kill: bool = False):
        self.calls, self.fail_at, self.kill, self.dead = [], fail_at, kill, False
        for name in ("_exchange", "_rename", "_rmtree"):
            monkeypatch.setattr(fileio, name, self._wrap(name, getattr(fileio, name)))

    def _wrap(self, name, real):
        def step(*args):
            if self.dead:
                raise Killed(f"{name} after the kill")
            self.calls.append(name)
            if len(self.calls) - 1 != self.fail_at:
                return real(*args)
            if not self.kill:
                raise OSError(errno.EIO, f"injected failure in {name}")
            self.dead = True
            if name == "_rmtree":
                files = sorted(p for p in Path(args[0]).rglob("*") if p.is_file())
                if files:
                    files[0].unlink()
            raise Killed(name)
        return step


def steps_of_a_rewrite(tmp_path, monkeypatch) -> list[str]:
    write_run(tmp_path / "count", "old")
    with monkeypatch.context() as m:
        steps = Steps(m)
        write_run(tmp_path / "count", "new")
    return steps.calls


@pytest.mark.parametrize("kill", [True, False], ids=["kill", "error"])
def test_a_failure_at_any_step_leaves_one_complete_folder(tmp_path, runs, monkeypatch,
                                                          swap_mode, kill):
    calls = steps_of_a_rewrite(tmp_path, monkeypatch)
    # rename model/ into place; swap (exchange, or exchange refused + three renames); remove
    # the old content. An error in the steps after the new folder is in place is logged.
    if swap_mode == "renameat2":
        assert calls == ["_rename", "_exchange", "_rmtree"]
        in_place = 2
    else:
        assert calls == ["_rename", "_exchange", "_rename", "_rename", "_rename", "_rmtree"]
        in_place = 4
    for k in range(len(calls)):
        root = tmp_path / f"{k}"
        target = root / "out"
        write_run(target, "old")
        with monkeypatch.context() as m:
            Steps(m, fail_at=k, kill=kill)
            try:
                write_run(target, "new")
                raised = None
            except (Killed, OSError) as exc:
                raised = exc
        where = f"failure at step {k} ({calls[k]})"
        if kill:
            assert isinstance(raised, Killed), where
        else:  # an error, not a kill: the write cleaned up after itself
            assert (raised is None) == (k >= in_place), where
            assert snapshot(target) == runs["new" if raised is None else "old"], where
            assert os.listdir(root) == ["out"], where
        if target.exists():
            assert snapshot(target) in (runs["old"], runs["new"]), where
        else:  # killed between the fallback's renames: the old folder is whole beside it
            assert swap_mode == "fallback" and kill, where
            aside = [p for p in root.iterdir() if ".rnnkit-old-" in p.name]
            assert [snapshot(p) for p in aside] == [runs["old"]], where
        check_output_dir(target)  # the next run recovers and cleans up
        assert snapshot(target) in (runs["old"], runs["new"]), where
        assert os.listdir(root) == ["out"], where


@pytest.mark.parametrize("fail_at", [0, 1])
def test_a_first_write_killed_leaves_no_target_and_is_cleaned(tmp_path, monkeypatch, fail_at):
    with monkeypatch.context() as m:
        Steps(m, fail_at=fail_at, kill=True)
        with pytest.raises(Killed):
            write_run(tmp_path / "out", "new")
    assert not (tmp_path / "out").exists() and others(tmp_path / "out")
    check_output_dir(tmp_path / "out")
    assert os.listdir(tmp_path) == []


def test_sigkill_at_three_random_points(tmp_path):
    script = ROOT / "scripts" / "kill_outputs.py"
    for extra in ([], ["--fallback"]):
        done = subprocess.run([sys.executable, str(script), "--kills", "3", "--seed", "1",
                               *extra], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "3/3 kills left one complete folder" in done.stdout
