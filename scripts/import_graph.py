"""Print the import picture of the installed `govcloud` package: which top-level package imports
which, with the number of import statements, then import-linter's verdict on the contracts in
pyproject.toml. Run it with `make imports`.

The folders (tenants/, network/, ...) are mapped under `govcloud.` only when installed, so the
package is installed into a temporary folder first and read from there.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def install(target: Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                    "--target", str(target), str(REPO)], check=True, capture_output=True)


def package_arrows(target: Path) -> list[tuple[str, str, int]]:
    """(importer package, imported package, number of module-to-module imports) for `govcloud.*`."""
    import grimp

    sys.path.insert(0, str(target))
    graph = grimp.build_graph("govcloud")
    top = lambda module: ".".join(module.split(".")[:2])  # noqa: E731 - govcloud.<package>
    counts: dict[tuple[str, str], int] = {}
    for module in graph.modules:
        for imported in graph.find_modules_directly_imported_by(module):
            pair = (top(module), top(imported))
            if pair[0] != pair[1] and pair[0] != "govcloud" and pair[1] != "govcloud":
                counts[pair] = counts.get(pair, 0) + 1
    return [(a, b, n) for (a, b), n in sorted(counts.items())]


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp)
        install(target)
        for importer, imported, count in package_arrows(target):
            print(f"{importer.removeprefix('govcloud.'):>12} -> {imported.removeprefix('govcloud.'):<12} ({count})")
        print()
        lint = subprocess.run([str(Path(sys.executable).parent / "lint-imports"), "--config", str(REPO / "pyproject.toml"),
                               "--no-cache"], cwd=target, env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"},
                              capture_output=True, text=True)
        out = lint.stdout
        print(out[out.find("Contracts\n"):] if "Contracts\n" in out else out + lint.stderr)
        return lint.returncode


if __name__ == "__main__":
    sys.exit(main())
