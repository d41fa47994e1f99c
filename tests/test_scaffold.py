"""``brique new-connector``: the scaffolded plugin lints, installs, is found, passes the kit.

The install test treats each generated package exactly as a third-party plugin: it is
installed with pip (editable, its entry point in its own metadata) into a throwaway virtual
environment, its own test suite runs there with the kit's pytest plugin, and ``brique
connectors list`` run there lists it.

That environment is isolated both ways without downloading anything: it is a fresh venv
(no system site-packages) whose site-packages holds one ``.pth`` file adding this
environment's site-packages after its own, so Brique, its dependencies, pytest, pip and
setuptools are importable, while whatever is installed goes into the throwaway venv only.
(A venv made with ``--system-site-packages`` from ``.venv/bin/python`` would see the *base*
interpreter's packages, not this venv's: Brique would not be there.)
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import sysconfig
import time
import tomllib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
from typer.testing import CliRunner

from bridge.mapping.loader import load_plan
from bridge.registry import GROUP
from bridge.scaffold import MAX_NAME_LENGTH
from bridge.testing import SUITES, ConnectorContract
from workers.cli import app

TREE = [
    "README.md",
    "mappings/{name}.yaml",
    "pyproject.toml",
    "src/brique_{name}/__init__.py",
    "src/brique_{name}/config.py",
    "src/brique_{name}/connector.py",
    "src/brique_{name}/values.py",
    "tests/test_connector.py",
    "tests/test_contract.py",
]

PLUGINS = {"pos": "scaffold_till", "shop": "scaffold_shop"}
"""Names of the plugins the install test makes; no installed connector has them."""

CAPABILITY_SKIPS = {"pos": {"write", "webhooks"}, "shop": set()}
"""Suites the kit skips by capability: a till connector neither writes nor takes webhooks."""

CAPABILITIES = {
    "pos": ["read_sales"],
    "shop": ["read_orders", "webhooks", "write_stock"],
}

SUITE_OF = {
    name: func.contract_suite
    for cls in ConnectorContract.__mro__
    for name, func in vars(cls).items()
    if hasattr(func, "contract_suite")
}
"""Kit test method name -> its suite, as the kit tags them."""


def brique(*args: str | Path) -> Any:
    return CliRunner().invoke(app, [str(a) for a in args])


def ruff(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "ruff", *map(str, args), "--no-cache"]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=60)


# -- refusals ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["Acme", "1till", "my-till", "my till", "_till", "tïll", "till!", "a" * (MAX_NAME_LENGTH + 1)],
)
def test_an_invalid_name_exits_2_and_writes_nothing(tmp_path: Path, name: str) -> None:
    result = brique("new-connector", name, "--kind", "pos", "--dir", tmp_path)
    assert result.exit_code == 2, result.output
    if len(name) > MAX_NAME_LENGTH:
        assert f"keep it to {MAX_NAME_LENGTH} at most" in result.stderr
    else:
        assert f"invalid connector name {name!r}: use a lowercase identifier" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_an_empty_name_exits_2(tmp_path: Path) -> None:
    result = brique("new-connector", "", "--kind", "pos", "--dir", tmp_path)
    assert result.exit_code == 2
    assert "invalid connector name ''" in result.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["poslog", "shopify"])
def test_an_installed_connector_name_exits_2(tmp_path: Path, name: str) -> None:
    assert name in {ep.name for ep in entry_points(group=GROUP)}
    result = brique("new-connector", name, "--kind", "shop", "--dir", tmp_path)
    assert result.exit_code == 2
    assert f"a connector named {name!r} is already installed" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_an_existing_folder_exits_2_and_is_left_alone(tmp_path: Path) -> None:
    existing = tmp_path / "brique-acme"
    existing.mkdir()
    (existing / "notes.txt").write_text("mine")
    result = brique("new-connector", "acme", "--kind", "shop", "--dir", tmp_path)
    assert result.exit_code == 2
    assert f"{existing} already exists" in result.stderr
    assert [p.name for p in existing.iterdir()] == ["notes.txt"]


def test_an_unknown_kind_exits_2(tmp_path: Path) -> None:
    result = brique("new-connector", "acme", "--kind", "erp", "--dir", tmp_path)
    assert result.exit_code == 2
    assert "unknown kind 'erp': use one of pos, shop" in result.stderr
    assert list(tmp_path.iterdir()) == []


# -- what is generated -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "name"),
    [("pos", "tilly"), ("shop", "acme"), ("pos", "p" * MAX_NAME_LENGTH), ("shop", "s_1")],
)
def test_the_package_is_complete_valid_and_lint_clean(tmp_path: Path, kind: str, name: str) -> None:
    result = brique("new-connector", name, "--kind", kind, "--dir", tmp_path)
    assert result.exit_code == 0, result.output
    package = tmp_path / f"brique-{name}"
    assert f"created {package}/" in result.stdout
    made = sorted(str(p.relative_to(package)) for p in package.rglob("*") if p.is_file())
    assert made == sorted(path.format(name=name) for path in TREE)
    for path in package.rglob("*"):
        if path.is_file():
            assert "{{" not in path.read_text(), f"{path}: a placeholder was left"

    project = tomllib.loads((package / "pyproject.toml").read_text())["project"]
    assert project["name"] == f"brique-{name}"
    assert any(dep.startswith("brique") for dep in project["dependencies"])
    assert {"pytest", "responses"} <= {
        re.split(r"[<>=~!]", dep)[0] for dep in project["optional-dependencies"]["test"]
    }
    camel = "".join(part.capitalize() for part in name.split("_"))
    assert project["entry-points"]["brique.connectors"] == {name: f"brique_{name}:{camel}Connector"}

    contract = (package / "tests" / "test_contract.py").read_text()
    assert f"class Test{camel}Contract(ConnectorContract):" in contract
    for path in ("src/brique_{name}/connector.py", "tests/test_contract.py", "README.md"):
        assert "TODO(integrator)" in (package / path.format(name=name)).read_text()
    load_plan(package / "mappings" / f"{name}.yaml")  # what `brique mapping validate` does

    checked = ruff("check", ".", cwd=package)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    formatted = ruff("format", "--check", ".", cwd=package)
    assert formatted.returncode == 0, formatted.stdout + formatted.stderr


def test_the_mapping_fragment_passes_brique_mapping_validate(tmp_path: Path) -> None:
    for kind, name in PLUGINS.items():
        assert brique("new-connector", name, "--kind", kind, "--dir", tmp_path).exit_code == 0
    files = [tmp_path / f"brique-{n}" / "mappings" / f"{n}.yaml" for n in PLUGINS.values()]
    result = brique("mapping", "validate", *files)
    assert result.exit_code == 0, result.output
    assert result.stdout.count(": ok (version ") == 2


# -- installed as a third-party plugin ---------------------------------------------------


@dataclass
class Installed:
    venv: Path
    packages: dict[str, Path]
    runs: dict[str, subprocess.CompletedProcess[str]]
    reports: dict[str, Path]
    listed: subprocess.CompletedProcess[str]
    seconds: dict[str, float]


def _env(venv: Path) -> dict[str, str]:
    """The child's environment: nothing of this process's Python or pytest settings."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PYTHON", "PYTEST_", "VIRTUAL_ENV", "__PYVENV"))
    }
    env.update(
        VIRTUAL_ENV=str(venv),
        PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}",
        PYTHONNOUSERSITE="1",
        PYTHONDONTWRITEBYTECODE="1",
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        PIP_NO_INPUT="1",
    )
    return env


def _run(command: list[str | Path], env: dict[str, str], **kwargs: Any) -> Any:
    return subprocess.run(
        [str(c) for c in command], env=env, capture_output=True, text=True, **kwargs
    )


def _make_venv(venv: Path) -> Path:
    """A fresh venv whose site-packages extends to this environment's, after its own."""
    command = [sys.executable, "-m", "venv", "--without-pip", str(venv)]
    subprocess.run(command, check=True, timeout=60)
    python = venv / "bin" / "python"
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout.strip()
    parents = dict.fromkeys(sysconfig.get_paths()[k] for k in ("purelib", "platlib"))
    lines = [f"import site; site.addsitedir({p!r})" for p in parents]
    Path(site, "_brique_parent_env.pth").write_text("\n".join(lines) + "\n")
    return python


BACKEND_PROBE = """
import importlib.util
import setuptools
editable = any(importlib.util.find_spec(m) for m in ("setuptools.command.bdist_wheel", "wheel"))
print(setuptools.__version__, editable)
"""


def _ensure_build_backend(python: Path, env: dict[str, str]) -> None:
    """``--no-build-isolation`` builds with the environment's setuptools; before 70.1 its
    editable wheels need the ``wheel`` package, which the venv may lack. Then ``wheel`` is
    installed into the throwaway venv only (from the configured index)."""
    probe = _run([python, "-c", BACKEND_PROBE], env, timeout=60)
    assert probe.returncode == 0, f"setuptools is not importable in the test venv:\n{probe}"
    version, editable = probe.stdout.split()
    if editable == "True":
        return
    got = _run([python, "-m", "pip", "install", "-q", "wheel"], env, timeout=120)
    assert got.returncode == 0, (
        f"setuptools {version} needs the 'wheel' package to build editable installs and pip "
        f"could not install it into the test venv (no index reachable?): add 'wheel' (or "
        f"'setuptools>=70.1') to brique's test extras.\n{got.stdout}\n{got.stderr}"
    )


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    root = tmp_path_factory.mktemp("scaffold-install")
    seconds: dict[str, float] = {}
    start = time.monotonic()
    packages = {}
    for kind, name in PLUGINS.items():
        result = brique("new-connector", name, "--kind", kind, "--dir", root)
        assert result.exit_code == 0, result.output
        packages[kind] = root / f"brique-{name}"
    venv = root / "venv"
    python = _make_venv(venv)
    env = _env(venv)
    _ensure_build_backend(python, env)
    seconds["venv"] = time.monotonic() - start
    for kind, package in packages.items():
        began = time.monotonic()
        pip = [python, "-m", "pip", "install", "-q", "--no-index", "--no-deps"]
        done = _run([*pip, "--no-build-isolation", "-e", package], env, timeout=180)
        assert done.returncode == 0, f"pip install -e {package}:\n{done.stdout}\n{done.stderr}"
        seconds[f"install {kind}"] = time.monotonic() - began

    reports = {kind: root / f"junit-{kind}.xml" for kind in packages}

    def run_tests(kind: str) -> subprocess.CompletedProcess[str]:
        command = [python, "-m", "pytest", "tests", "-q", "-rs", "-p", "no:cacheprovider"]
        command.append(f"--junitxml={reports[kind]}")
        return _run(command, env, cwd=packages[kind], timeout=240)

    began = time.monotonic()
    with ThreadPoolExecutor(max_workers=len(packages)) as pool:  # the two suites at once
        futures = {kind: pool.submit(run_tests, kind) for kind in packages}
        runs = {kind: future.result() for kind, future in futures.items()}
    seconds["plugin test suites"] = time.monotonic() - began
    began = time.monotonic()
    command = [python, "-m", "workers.cli", "connectors", "list", "--json"]
    listed = _run(command, env, cwd=root, timeout=60)
    seconds["connectors list"] = time.monotonic() - began
    yield Installed(venv, packages, runs, reports, listed, seconds)


def _outcomes(report: Path) -> dict[str, tuple[str, str]]:
    """Test id -> (passed | skipped | failure | error, message) from a JUnit XML report."""
    found = {}
    for case in ElementTree.parse(report).getroot().iter("testcase"):
        outcome, message = "passed", ""
        for tag in ("failure", "error", "skipped"):
            child = case.find(tag)
            if child is not None:
                outcome, message = tag, child.get("message") or (child.text or "")
        found[f"{case.get('classname')}::{case.get('name')}"] = (outcome, message)
    return found


@pytest.mark.slow
@pytest.mark.parametrize("kind", sorted(PLUGINS))
def test_the_generated_package_passes_the_kit_once_installed(
    installed: Installed, kind: str
) -> None:
    run = installed.runs[kind]
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    summary = output.strip().splitlines()[-1]
    counts = {word: int(n) for n, word in re.findall(r"(\d+) (\w+)", summary)}
    assert set(counts) <= {"passed", "skipped"}, summary
    for line in output.splitlines():
        if line.startswith("SKIPPED"):
            assert "contract suite" in line and "connector lacks" in line, line

    outcomes = _outcomes(installed.reports[kind])
    assert sum(1 for o, _ in outcomes.values() if o == "passed") == counts["passed"]
    by_suite: dict[str, list[tuple[str, str, str]]] = {}
    for test, (outcome, message) in outcomes.items():
        modules, method = test.split("::")[0].split("."), test.split("::")[-1].split("[")[0]
        if "test_contract" in modules:
            assert method in SUITE_OF, f"{test} is not a kit test"
            by_suite.setdefault(SUITE_OF[method], []).append((test, outcome, message))
        else:
            assert "test_connector" in modules, test
            assert outcome == "passed", (test, outcome, message)
    assert any(".test_connector" in t for t in outcomes), "the example unit test did not run"

    assert set(by_suite) == set(SUITES), f"kit suites collected: {sorted(by_suite)}"
    for name, results in sorted(by_suite.items()):
        if name in CAPABILITY_SKIPS[kind]:
            for test, outcome, message in results:
                assert outcome == "skipped" and "connector lacks" in message, (test, message)
        else:
            failed = [(t, o, m) for t, o, m in results if o != "passed"]
            assert not failed, f"suite {name!r} did not pass: {failed}"


@pytest.mark.slow
def test_the_installed_plugins_are_discovered_through_their_entry_points(
    installed: Installed,
) -> None:
    assert installed.listed.returncode == 0, installed.listed.stdout + installed.listed.stderr
    listed = {row["name"]: row for row in json.loads(installed.listed.stdout)}
    assert {"poslog", "shopify"} <= set(listed), "the built-in connectors are listed too"
    for kind, name in PLUGINS.items():
        row = listed[name]
        assert row["kind"] == kind and row["version"] == "0.1.0"
        assert row["capabilities"] == CAPABILITIES[kind]
        assert re.sub(r"[-_.]+", "-", row["package"]).lower() == re.sub(
            r"[-_.]+", "-", f"brique-{name}"
        )


@pytest.mark.slow
def test_the_install_stays_in_the_throwaway_venv(installed: Installed) -> None:
    here = {ep.name for ep in entry_points(group=GROUP)}
    assert not set(PLUGINS.values()) & here, "a scaffolded plugin leaked into this environment"
    site = next((installed.venv / "lib").glob("python3*/site-packages"))
    assert {p.name.split("-")[0] for p in site.glob("brique_scaffold_*.dist-info")} == {
        f"brique_{name}" for name in PLUGINS.values()
    }
    budget = sum(installed.seconds.values())
    assert budget < 90, f"the install test took {budget:.0f}s: {installed.seconds}"
