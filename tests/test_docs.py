"""The documentation stays true to the code and to itself: every environment variable the
settings read is documented, every relative link resolves (anchors included), and the README
stays a front door. No database needed."""

from __future__ import annotations

import ast
import re
from pathlib import Path

BASE = Path(__file__).resolve().parent.parent
README = BASE / "README.md"
DOCS = BASE / "docs"
CONFIGURATION = DOCS / "configuration.md"
MAX_README_LINES = 250


# --- environment variables ---


def _is_os_environ(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Attribute)
        and node.attr == "environ"
        and isinstance(node.value, ast.Name)
        and node.value.id == "os"
    )


def _string(node: ast.AST) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _first_string(call: ast.Call) -> str | None:
    return _string(call.args[0]) if call.args else None


def _reads_environment(function: ast.FunctionDef) -> bool:
    """Does this function read os.environ (so that its first argument names a variable)?"""
    for node in ast.walk(function):
        if _is_os_environ(node):
            return True
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "getenv"
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "os"
        ):
            return True
    return False


def environment_helpers(tree: ast.Module) -> set[str]:
    """The module's own top-level functions that read the environment (env_bool, env_list…)."""
    return {
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and _reads_environment(node)
    }


def environment_variables_read(path: Path) -> set[str]:
    """Every variable name the file reads, as the first string argument of
    `os.environ.get("NAME", …)`, `os.getenv("NAME")`, `os.environ["NAME"]`,
    `"NAME" in os.environ` or a call of one of the file's own helpers (`env_bool("NAME", …)`)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    helpers = environment_helpers(tree)
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            environ_get = (
                isinstance(func, ast.Attribute)
                and func.attr in {"get", "setdefault"}
                and _is_os_environ(func.value)
            )
            getenv = (
                isinstance(func, ast.Attribute)
                and func.attr == "getenv"
                and isinstance(func.value, ast.Name)
                and func.value.id == "os"
            )
            helper = isinstance(func, ast.Name) and func.id in helpers
            if (environ_get or getenv or helper) and (name := _first_string(node)):
                names.add(name)
        elif isinstance(node, ast.Subscript) and _is_os_environ(node.value):
            names.add(_string(node.slice))
        elif isinstance(node, ast.Compare) and any(_is_os_environ(c) for c in node.comparators):
            names.add(_string(node.left))
    return names - {None}


def documented_variables() -> set[str]:
    """Every `NAME` in backticks in docs/configuration.md."""
    return set(re.findall(r"`([A-Z][A-Z0-9_]*)`", CONFIGURATION.read_text()))


def test_every_variable_the_settings_read_is_in_the_configuration_page():
    settings = BASE / "config" / "settings.py"
    assert {"env_bool", "env_list"} <= environment_helpers(ast.parse(settings.read_text()))
    read = environment_variables_read(settings)
    assert read, "no environment variable found in config/settings.py"
    # The parser sees every form the settings use: os.environ.get, and both helpers.
    assert {"SECRET_KEY", "DATABASE_URL", "DEBUG", "ALLOWED_HOSTS", "THROTTLE_ANON"} <= read, read
    missing = sorted(read - documented_variables())
    assert not missing, f"read by config/settings.py but not in docs/configuration.md: {missing}"


def test_the_web_server_and_dev_services_variables_are_in_the_configuration_page():
    read = set()
    for name in ("gunicorn.conf.py", "devservices.py"):
        read |= environment_variables_read(BASE / "config" / name)
    assert {"WEB_WORKERS", "WEB_THREADS", "DATABASE_URL", "PROMETHEUS_MULTIPROC_DIR"} <= read, read
    missing = sorted(read - documented_variables())
    assert not missing, f"read by config/ but not in docs/configuration.md: {missing}"


def test_the_variable_finder_sees_every_form(tmp_path):
    source = tmp_path / "settings.py"
    source.write_text(
        "import os\n"
        "def env_flag(name, default):\n"
        "    return os.environ.get(name, default)\n"
        "A = os.environ.get('ALPHA', '1')\n"
        "B = os.environ['BETA']\n"
        "C = env_flag('GAMMA', False)\n"
        "D = os.getenv('DELTA')\n"
        "E = 'EPSILON' in os.environ\n"
        "F = dict(name='NOT_A_VARIABLE')\n"
    )
    assert environment_variables_read(source) == {"ALPHA", "BETA", "GAMMA", "DELTA", "EPSILON"}


# --- links ---

FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"!?\[[^\]]*\]\(\s*([^)\s]+)(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)


def without_code(markdown: str) -> str:
    """The text without fenced code blocks and inline code, where `[x](y)` is not a link."""
    return INLINE_CODE.sub("code", FENCE.sub("", markdown))


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lowercase, punctuation dropped but for hyphens (and
    underscores), spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link in a heading: its text
    text = re.sub(r"[^\w\- ]", "", text.lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every heading anchor of a markdown file, repeated headings numbered as GitHub does."""
    found: set[str] = set()
    seen: dict[str, int] = {}
    for heading in HEADING.findall(FENCE.sub("", path.read_text())):
        base = slug(heading)
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def broken_links(path: Path) -> list[str]:
    broken = []
    for target in LINK.findall(without_code(path.read_text())):
        if re.match(r"(https?:|mailto:)", target, re.IGNORECASE):
            continue
        file_part, _, anchor = target.partition("#")
        linked = (path.parent / file_part).resolve() if file_part else path
        where = f"{path.relative_to(BASE)}: ({target})"
        if not linked.exists():
            broken.append(f"{where}: no such file")
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
            broken.append(f"{where}: no heading #{anchor} in {linked.relative_to(BASE)}")
    return broken


def markdown_files() -> list[Path]:
    return [README, *sorted(DOCS.glob("*.md"))]


def test_every_relative_link_resolves():
    files = markdown_files()
    assert len(files) > 1, "no docs/*.md"
    links = [target for path in files for target in LINK.findall(without_code(path.read_text()))]
    assert any("#" in target for target in links), "no anchored link found: is the parser blind?"
    broken = [problem for path in files for problem in broken_links(path)]
    assert not broken, "broken links:\n" + "\n".join(broken)


def test_the_readme_links_every_docs_page_and_its_pictures():
    readme = without_code(README.read_text())
    targets = set(LINK.findall(readme))
    pages = {f"docs/{page.name}" for page in DOCS.glob("*.md")}
    assert not pages - {target.partition("#")[0] for target in targets}
    assert any(target.endswith(".png") for target in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", readme))


def test_the_link_checker_finds_broken_links(tmp_path, monkeypatch):
    monkeypatch.setattr(f"{__name__}.BASE", tmp_path)
    (tmp_path / "other.md").write_text(
        "# Other page\n\n## Read your writes\n\n## Notes\n## Notes\n"
    )
    page = tmp_path / "page.md"
    page.write_text(
        "[fine](other.md#read-your-writes) [second notes](other.md#notes-1) [self](#top-heading)\n"
        "[gone](missing.md) [bad anchor](other.md#nowhere) ![no picture](pic.png)\n"
        "[web](https://example.com/x.md) `[in code](missing-too.md)`\n"
        "```\n[in a block](missing-three.md)\n```\n# Top heading\n"
    )
    assert broken_links(page) == [
        "page.md: (missing.md): no such file",
        "page.md: (other.md#nowhere): no heading #nowhere in other.md",
        "page.md: (pic.png): no such file",
    ]


def test_slugs_follow_github():
    assert slug("Read replicas and many workers") == "read-replicas-and-many-workers"
    assert slug("Idempotency: one story per layer") == "idempotency-one-story-per-layer"
    assert slug("Settings (config/settings.py)") == "settings-configsettingspy"
    assert slug("The `make` variables") == "the-make-variables"


# --- the front door ---


def test_the_readme_is_a_front_door():
    lines = README.read_text().splitlines()
    assert len(lines) <= MAX_README_LINES, (
        f"README.md has {len(lines)} lines, more than {MAX_README_LINES}: move detail to docs/"
    )
    text = "\n".join(lines)
    assert "make run" in text and "make test" in text
