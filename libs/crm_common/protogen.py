"""Generate the Python gRPC/protobuf code from proto/ into libs/crm_proto/, or check it is current.

`python -m crm_common.protogen generate` rewrites the generated tree; `check` regenerates into a
temporary folder and fails, naming the files, when the committed code differs (stale stubs).
"""

from __future__ import annotations

import filecmp
import shutil
import sys
import tempfile
from importlib import resources
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROTO_DIR = ROOT / "proto"
OUT_DIR = ROOT / "libs" / "crm_proto"
GENERATED_SUFFIXES = ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py", "__init__.py")


def _generate_into(out: Path) -> None:
    from grpc_tools import protoc

    protos = sorted(str(p.relative_to(PROTO_DIR)) for p in PROTO_DIR.rglob("*.proto"))
    include = str(resources.files("grpc_tools") / "_proto")
    args = [
        "protoc",
        f"-I{PROTO_DIR}",
        f"-I{include}",
        f"--python_out={out}",
        f"--pyi_out={out}",
        f"--grpc_python_out={out}",
        *protos,
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    # Regular packages (not namespace packages) so setuptools and importlib treat them alike.
    for folder in [out / "crm", *(p for p in (out / "crm").rglob("*") if p.is_dir())]:
        (folder / "__init__.py").touch()


def _generated_files(root: Path) -> set[str]:
    crm = root / "crm"
    if not crm.exists():
        return set()
    return {
        str(p.relative_to(root))
        for p in crm.rglob("*")
        if p.is_file() and p.name.endswith(GENERATED_SUFFIXES)
    }


def generate() -> None:
    """Regenerate libs/crm_proto/crm from proto/."""
    shutil.rmtree(OUT_DIR / "crm", ignore_errors=True)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    _generate_into(OUT_DIR)
    print(f"generated {len(_generated_files(OUT_DIR))} files into {OUT_DIR.relative_to(ROOT)}")


def stale_files() -> list[str]:
    """Files whose committed generated code differs from a fresh generation (empty when current)."""
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp)
        _generate_into(fresh)
        want, have = _generated_files(fresh), _generated_files(OUT_DIR)
        diff = sorted(want ^ have)
        diff += sorted(f for f in want & have if not filecmp.cmp(fresh / f, OUT_DIR / f, shallow=False))
        return diff


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else "generate"
    if command == "generate":
        generate()
        return 0
    if command == "check":
        stale = stale_files()
        if stale:
            print("generated gRPC code is stale; run `make proto` and commit:", *stale, sep="\n  ")
            return 1
        print("generated gRPC code is current")
        return 0
    print("usage: python -m crm_common.protogen [generate|check]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
