"""`pip install .` ships the templates and requirement packs inside the wheel."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
IGNORE = shutil.ignore_patterns(
    ".git", ".venv", "build", "dist", "*.egg-info", "reports", "__pycache__", ".*_cache"
)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    src = tmp_path_factory.mktemp("src") / "project"
    shutil.copytree(ROOT, src, ignore=IGNORE)
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(out),
            str(src),
        ],
        check=True,
    )
    (built,) = out.glob("*.whl")
    return built


def test_the_wheel_carries_templates_packs_and_schemas(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped_packs = {p.name for p in (ROOT / "rules").glob("*.yaml")}
    shipped_templates = {
        str(p.relative_to(ROOT / "templates")) for p in (ROOT / "templates").rglob("*.j2")
    }
    assert shipped_packs, "rules/ has no packs"
    assert shipped_templates, "templates/ has no templates"
    assert {f"auditor/rules/{n}" for n in shipped_packs} <= names
    assert {f"auditor/templates/{n}" for n in shipped_templates} <= names
    assert "auditor/schemas/inventory.schema.json" in names
    assert "auditor/py.typed" in names
    # the history store's Alembic migrations, read by path at run time
    migrations = ROOT / "auditor" / "history" / "migrations"
    for script in [*migrations.glob("*.py"), *migrations.glob("versions/*.py")]:
        assert str(script.relative_to(ROOT)) in names
    # every subpackage of the source tree is in the wheel (the package list is explicit)
    for init in (ROOT / "auditor").rglob("__init__.py"):
        assert str(init.relative_to(ROOT)) in names


def test_an_installed_wheel_loads_a_pack_and_a_template(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    py = venv / "bin" / "python"
    site = Path(
        subprocess.run(
            [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    # Install the wheel itself with the running pip; dependencies come from this test's
    # environment, placed after the new site-packages so the wheel's `auditor` wins.
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--target",
            str(site),
            str(wheel),
        ],
        check=True,
    )
    (site / "zz_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    probe = (
        "import auditor, auditor.resources as r, jinja2\n"
        "from auditor.inventory.packs import load_packs\n"
        "print(auditor.__file__)\n"
        "kinds = load_packs()\n"
        "assert 'ldaps' in kinds, sorted(kinds)\n"
        "env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(r.templates_dir())))\n"
        "names = env.list_templates()\n"
        "assert names, 'no templates'\n"
        "env.get_template(names[0])\n"
        "print(r.rules_dir()); print(r.templates_dir())\n"
    )
    out = subprocess.run(
        [str(py), "-I", "-c", probe], cwd=tmp_path, check=True, capture_output=True, text=True
    ).stdout.splitlines()
    assert all(line.startswith(str(site)) for line in out), out
    cli = subprocess.run(
        [
            str(py),
            "-I",
            "-m",
            "auditor",
            "flows",
            "--format",
            "csv",
            str(ROOT / "examples" / "pair.yaml"),
        ],
        cwd=tmp_path,
        check=False,
        capture_output=True,
        text=True,
    )
    assert cli.returncode == 0, cli.stderr
    assert len(cli.stdout.strip().splitlines()) == 1 + 14
