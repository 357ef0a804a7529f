"""The apps import one way only (README, "Architecture"): no cycles, nothing upwards.

Every module under apps/ (tests excluded) is parsed, and every import in it counts, also
one inside a function body and a relative one, as does a model looked up by app label
(`apps.get_model("coaching", ...)`), which is an import by another name.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Lowest level first. An app may use the apps on the levels below its own, never one on its
# own level (coaching and sharing import neither the other) or above. Teams sits below
# sharing: who is in a team and what each driver shares with it are facts the one access
# decision (apps/sharing/access.py) reads, beside the share links it owns. The agent's channel
# model (simcoach_agent) is below them all; simcoach_site's settings, URLs and ASGI app sit
# on top, and its helper modules that apps use (events, jobs, lib) import no app.
LEVELS = (("traces",), ("accounts",), ("sessions",), ("teams",), ("coaching", "sharing"), ("telemetry",))
LAYERS = tuple(app for level in LEVELS for app in level)
LEVEL = {app: i for i, level in enumerate(LEVELS) for app in level}
# App labels that differ from the app's directory, for get_model("racing_sessions", ...).
LABELS = {"racing_sessions": "sessions"}


@dataclass(frozen=True)
class Edge:
    source: Path
    line: int
    importer: str  # app directory name
    imported: str  # app directory name
    via: str

    def __str__(self) -> str:
        return f"{self.source.relative_to(self.source.parents[2])}:{self.line}: {self.importer} -> {self.imported} ({self.via})"


def _modules(top: Path) -> Iterator[Path]:
    for path in sorted(top.rglob("*.py")):
        if "tests" not in path.relative_to(top).parts:
            yield path


def _package(path: Path, root: Path) -> list[str]:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return parts if parts[-1] == "__init__" else parts[:-1]


def imports_of(path: Path, root: Path) -> Iterator[tuple[int, str]]:
    """(line, dotted module) for every import in `path`, relative ones made absolute."""
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = _package(path, root)[: len(_package(path, root)) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            yield node.lineno, module
            for alias in node.names:  # `from apps import coaching` names a package too
                yield node.lineno, f"{module}.{alias.name}"
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "get_model"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            app = LABELS.get(node.args[0].value, node.args[0].value)
            if app in LAYERS:  # django's own apps (contenttypes, auth) are below every app
                yield node.lineno, f"apps.{app}"


def edges(root: Path) -> list[Edge]:
    """Imports from one app into another, and from simcoach_site helpers into any app."""
    found: set[Edge] = set()
    for path in _modules(root / "apps"):
        importer = path.relative_to(root / "apps").parts[0]
        if importer.endswith(".py"):
            continue
        for line, module in imports_of(path, root):
            parts = module.split(".")
            if parts[0] == "apps" and len(parts) > 1 and parts[1] != importer:
                found.add(Edge(path, line, importer, parts[1], module))
            elif parts[0] == "simcoach_site" and len(parts) > 1:
                found.update(_site_edges(root, parts[1], importer, path, line))
    return sorted(found, key=str)


def _site_edges(root: Path, name: str, importer: str, path: Path, line: int) -> Iterator[Edge]:
    """An app using a simcoach_site helper that imports an app imports that app."""
    target = root / "simcoach_site" / name
    files = list(_modules(target)) if target.is_dir() else [target.with_suffix(".py")]
    for file in files:
        if not file.exists():
            continue
        for _, module in imports_of(file, root):
            parts = module.split(".")
            if parts[0] == "apps" and len(parts) > 1 and parts[1] != importer:
                yield Edge(path, line, importer, parts[1], f"simcoach_site.{name} imports {module}")


def upward(found: list[Edge]) -> list[str]:
    """Edges that do not point strictly down LAYERS (an app missing from LAYERS is one too)."""
    bad = []
    for e in found:
        if e.importer not in LAYERS:
            bad.append(f"{e}: {e.importer} is not in LAYERS; give it a place")
        elif e.imported not in LAYERS:
            bad.append(f"{e}: {e.imported} is not in LAYERS; give it a place")
        elif LEVEL[e.imported] > LEVEL[e.importer]:
            bad.append(f"{e}: upwards")
        elif LEVEL[e.imported] == LEVEL[e.importer]:
            bad.append(f"{e}: sideways, within one level")
    return bad


def cycles(found: list[Edge]) -> list[list[str]]:
    """Every app that can reach itself, with one path that shows it."""
    graph: dict[str, set[str]] = {}
    for e in found:
        graph.setdefault(e.importer, set()).add(e.imported)
    out = []
    for start in sorted(graph):
        stack, seen = [(start, [start])], set()
        while stack:
            app, path = stack.pop()
            for nxt in sorted(graph.get(app, ())):
                if nxt == start:
                    out.append([*path, start])
                    stack = []
                    break
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, [*path, nxt]))
    return out


def test_apps_import_one_way() -> None:
    found = edges(ROOT)
    assert found, "no imports between apps found: the parser is broken"
    assert cycles(found) == []
    assert upward(found) == []


def test_every_app_has_a_layer() -> None:
    apps = sorted(p.name for p in (ROOT / "apps").iterdir() if (p / "apps.py").exists())
    assert apps == sorted(LAYERS)


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("from apps.coaching.tasks import x\n", "top-level"),
        ("def f():\n    from apps.coaching import tasks\n", "lazy, inside a function"),
        ("from ..coaching.models import Report\n", "relative"),
        ("import apps.coaching.models\n", "plain import"),
        ("from apps import coaching\n", "package by name"),
        ("from django.apps import apps\napps.get_model('coaching', 'Report')\n", "get_model"),
        ("from simcoach_site.helper import x\n", "through a site helper that imports coaching"),
    ],
)
def test_an_upward_import_is_found(tmp_path: Path, source: str, reason: str) -> None:
    root = _tree(
        tmp_path,
        {
            "apps/sessions/selectors.py": source,
            "apps/coaching/models.py": "from apps.sessions.models import Session\n",
            "simcoach_site/helper.py": "from apps.coaching.models import Report\n",
        },
    )
    found = edges(root)
    assert [str(e).split(": ")[1] for e in found if e.importer == "sessions"], reason
    assert upward(found), reason
    assert cycles(found) == [["coaching", "sessions", "coaching"], ["sessions", "coaching", "sessions"]], (
        reason
    )


def test_an_import_between_apps_of_one_level_is_found(tmp_path: Path) -> None:
    root = _tree(tmp_path, {"apps/coaching/services.py": "from apps.sharing.models import ShareLink\n"})
    assert {b.split(": ")[-1] for b in upward(edges(root))} == {"sideways, within one level"}


def test_tests_and_downward_imports_are_allowed(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "apps/coaching/services.py": "from apps.sessions.models import Session\nfrom .models import Report\n",
            "apps/sessions/tests/test_x.py": "from apps.coaching.models import Report\n",
        },
    )
    found = edges(root)
    assert {(e.importer, e.imported) for e in found} == {("coaching", "sessions")}
    assert upward(found) == [] and cycles(found) == []


def test_the_server_finds_the_agent_as_an_installed_package() -> None:
    """No `sys.path` edits in the server: the agent is installed (pip install -e ./agent)."""
    from importlib.metadata import distribution

    assert distribution("simcoach-agent").metadata["Name"] == "simcoach-agent"
    server = [ROOT / "manage.py", *sorted((ROOT / "simcoach_site").rglob("*.py")), *_modules(ROOT / "apps")]
    edits = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path in server
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Attribute)
        and node.attr == "path"
        and isinstance(node.value, ast.Name)
        and node.value.id == "sys"
    ]
    assert edits == []


def test_the_agent_at_the_bottom_imports_no_server_code() -> None:
    """The rig agent is a package of its own: it never needs Django, Channels or an app."""
    agent = ROOT / "agent"
    server = {"django", "channels", "rest_framework", "apps", "simcoach_site", "celery"}
    found = [
        f"{path.relative_to(ROOT)}:{line}: {module}"
        for path in _modules(agent / "simcoach_agent")
        for line, module in imports_of(path, agent)
        if module.split(".")[0] in server
    ]
    assert found == []
