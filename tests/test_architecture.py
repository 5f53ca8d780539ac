"""The layer map of docs/ARCHITECTURE.md, enforced: every import of one of our modules in bot/
must be allowed by the map's table (read from the document itself) or be one of its listed
exceptions. Also: the repository's docs cite nothing outside the repository."""

from __future__ import annotations

import ast
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BOT = ROOT / "bot"
DOC = ROOT / "docs" / "ARCHITECTURE.md"


@dataclass(frozen=True)
class Import:
    module: str  # the importing module, "bot.handlers.tour"
    target: str  # the imported module, "bot.scheduler"
    line: int


def table(marker: str) -> list[list[str]]:
    """The rows (cells, stripped) of the table that follows `<!-- marker` in the document."""
    text = DOC.read_text(encoding="utf-8")
    start = text.index(f"<!-- {marker}")
    end = text.index(f"<!-- /{marker}", start)
    rows = [line for line in text[start:end].splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in row.strip("|").split("|")] for row in rows[2:]]


def names(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)`", cell)


def layer_map() -> dict[str, set[str]]:
    allowed: dict[str, set[str]] = {}
    for cells in table("layer-map"):
        [layer] = names(cells[0])
        where = names(cells[1])
        assert where in (
            [f"bot/{layer}/"],
            [f"bot/{layer}.py"],
        ), f"the row for {layer} says it is in {where}"
        allowed[layer] = set(names(cells[2]))
    return allowed


def exceptions() -> dict[tuple[str, str], str]:
    return {
        (names(cells[0])[0], names(cells[1])[0]): cells[2] for cells in table("layer-exceptions")
    }


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__" and len(parts) > 2:
        parts.pop()
    return ".".join(parts)


def layer_of(module: str) -> str:
    """`bot.handlers.tour` → `handlers`; `bot.cli` → `cli`; `bot` (the package) → `__init__`."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def imports_of(path: Path) -> list[Import]:
    module = module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            # `from bot import settings` imports the module bot.settings
            targets = [f"{base}.{alias.name}" for alias in node.names] if base == "bot" else [base]
        else:
            continue
        found += [
            Import(module, target, node.lineno)
            for target in targets
            if target == "bot" or target.startswith("bot.")
        ]
    return found


def every_import() -> list[Import]:
    return [found for path in sorted(BOT.rglob("*.py")) for found in imports_of(path)]


def test_every_import_in_bot_follows_the_layer_map() -> None:
    allowed = layer_map()
    allowed_exceptions = exceptions()
    print("\nLayer-map exceptions (docs/ARCHITECTURE.md):")
    for (module, target), why in allowed_exceptions.items():
        print(f"  {module} → {target}: {why}")

    layers_in_code = {layer_of(module_name(path)) for path in BOT.rglob("*.py")}
    assert layers_in_code - set(allowed) == set(), "modules in layers the map does not list"
    assert set(allowed) - layers_in_code == set(), "rows of the map with no module"
    unknown = {target for targets in allowed.values() for target in targets} - set(allowed)
    assert unknown == set(), f"the map allows imports of layers it does not list: {unknown}"

    violations = []
    used = set()
    for found in every_import():
        source, target = layer_of(found.module), layer_of(found.target)
        if target == source or target in allowed[source]:
            continue
        if (found.module, target) in allowed_exceptions:
            used.add((found.module, target))
            continue
        violations.append(
            f"{found.module}:{found.line} imports {found.target} ({source} → {target})"
        )
    assert violations == [], (
        "imports the layer map (docs/ARCHITECTURE.md) does not allow; change the code, or the "
        "map in the same commit, saying why:\n" + "\n".join(violations)
    )
    stale = set(allowed_exceptions) - used
    assert stale == set(), f"exceptions no longer needed; remove them from the doc: {stale}"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        # a layer may import its own layer and what its row allows
        ("from bot.flows.tour import Reply\nfrom bot.blocks.home import TourCard\n", []),
        # ...but not upwards: a renderer reaching for a query
        ("from bot.store.tours import get_tour\n", ["bot.store.tours"]),
        # inside functions, relative, and `from bot import x` forms count too
        ("def f():\n    from bot import services\n", ["bot.services"]),
        ("from ..handlers import home\n", ["bot.handlers"]),
        ("import bot.sandbox.fake_slack\n", ["bot.sandbox.fake_slack"]),
    ],
)
def test_the_walk_finds_what_a_renderer_may_not_import(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str, expected: list[str]
) -> None:
    module = tmp_path / "bot" / "blocks" / "example.py"
    module.parent.mkdir(parents=True)
    module.write_text(source)
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    allowed = layer_map()["blocks"]
    found = [i.target for i in imports_of(module) if layer_of(i.target) not in allowed | {"blocks"}]
    assert found == expected


def test_the_docs_cite_nothing_outside_the_repository() -> None:
    files = [ROOT / "README.md", *(ROOT / "docs").rglob("*.md"), *(ROOT / "bench").rglob("*")]
    files += list(BOT.rglob("*.py"))
    cited = [
        f"{path.relative_to(ROOT)}: {line.strip()}"
        for path in files
        if path.is_file() and path.suffix in {".md", ".py"}
        for line in path.read_text(encoding="utf-8").splitlines()
        if re.search(r"DESIGN(\.md| §)|\.\./shared", line)
    ]
    assert cited == []


def side_effects_in_asserts(source: str) -> list[int]:
    """Lines of `assert` statements that do something (await, call with `:=`): PYTHONOPTIMIZE,
    which the Docker image runs with (bot/interpreter.py), strips the statement and the work."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Assert) and any(
            isinstance(inner, ast.Await | ast.NamedExpr) for inner in ast.walk(node.test)
        ):
            lines.append(node.lineno)
    return lines


@pytest.mark.parametrize(
    ("source", "found"),
    [
        ("async def f(x):\n    assert await x.wait()\n", [2]),
        ("def f(x):\n    assert (y := x()) is not None\n", [2]),
        ("async def f(x):\n    done = await x.wait()\n    assert done\n", []),
        ("def f(x):\n    assert x is not None, 'no x'\n", []),
    ],
)
def test_an_assert_that_does_work_is_found(source: str, found: list[int]) -> None:
    assert side_effects_in_asserts(source) == found


def test_no_assert_does_work_that_optimisation_would_strip() -> None:
    """In bot/ the image strips every assert; in the tests' helpers (not test modules, whose
    asserts pytest rewrites) a PYTHONOPTIMIZE run strips them too: a wait inside one vanishes."""
    files = [
        *BOT.rglob("*.py"),
        *(p for p in (ROOT / "tests").rglob("*.py") if not p.name.startswith("test_")),
    ]
    found = {
        f"{path.relative_to(ROOT)}:{line}"
        for path in files
        for line in side_effects_in_asserts(path.read_text(encoding="utf-8"))
    }
    assert found == set()


def imports_of_test_modules(source: str) -> list[int]:
    """Lines importing from a `test_*` module (or importing one): shared setup lives in modules
    that are not tests (tests/journeys.py, tests/factories.py, a conftest.py), so that a test
    module is never another's setup and pytest never collects a test twice."""

    def is_test_module(dotted: str) -> bool:
        return dotted.rpartition(".")[2].startswith("test_")

    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            module = node.module or ""
            named = [f"{module}.{alias.name}" for alias in node.names]
            if is_test_module(module) or any(is_test_module(name) for name in named):
                lines.append(node.lineno)
        elif isinstance(node, ast.Import) and any(is_test_module(a.name) for a in node.names):
            lines.append(node.lineno)
    return lines


@pytest.mark.parametrize(
    ("source", "found"),
    [
        ("from tests.handlers.test_tour import launch\n", [1]),
        ("def f():\n    from tests.test_crash_processes import launch_tour\n", [2]),
        ("from .test_outcomes import buttons\n", [1]),
        ("from tests.handlers import test_tour\n", [1]),
        ("import tests.handlers.test_tour\n", [1]),
        ("from tests.journeys import launch\nfrom tests.factories import stored_tour\n", []),
        ("from tests.conftest import START\nimport pytest\n", []),
    ],
)
def test_an_import_of_a_test_module_is_found(source: str, found: list[int]) -> None:
    assert imports_of_test_modules(source) == found


def test_no_test_setup_is_imported_from_a_test_module() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in sorted((ROOT / "tests").rglob("*.py"))
        for line in imports_of_test_modules(path.read_text(encoding="utf-8"))
    ]
    assert found == []
