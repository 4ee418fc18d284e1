"""Regenerate the Python code for protos/*.proto.

Run `python protos/generate.py`; `python protos/generate.py --check` exits 1 when the checked-in
code differs from what the .proto files produce (CI runs it).
"""

from __future__ import annotations

import argparse
import filecmp
import shutil
import sys
import tempfile
from pathlib import Path

from grpc_tools import protoc

HERE = Path(__file__).resolve().parent
OUTPUTS = ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py")


def generate(into: Path) -> list[Path]:
    # protoc names imports after the include path, so lay the sources out as
    # foureyes/protos/*.proto to get `from foureyes.protos import ...` in the output.
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "foureyes" / "protos"
        src.mkdir(parents=True)
        for proto in sorted(HERE.glob("*.proto")):
            shutil.copy(proto, src / proto.name)
        out = Path(tmp) / "out"
        out.mkdir()
        protos = [str(p.relative_to(tmp)) for p in sorted(src.glob("*.proto"))]
        args = ["protoc", f"-I{tmp}", f"--python_out={out}", f"--pyi_out={out}",
                f"--grpc_python_out={out}", *protos]
        if protoc.main(args) != 0:
            raise SystemExit("protoc failed")
        written = []
        for f in sorted((out / "foureyes" / "protos").iterdir()):
            if f.name.endswith(OUTPUTS):
                shutil.copy(f, into / f.name)
                written.append(into / f.name)
        return written


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if generated code is stale")
    args = parser.parse_args()
    if not args.check:
        for f in generate(HERE):
            print(f"wrote {f.relative_to(HERE.parent)}")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        stale = [f.name for f in generate(Path(tmp))
                 if not (HERE / f.name).exists() or not filecmp.cmp(f, HERE / f.name, shallow=False)]
    if stale:
        print("generated code is stale, run `python protos/generate.py`: " + ", ".join(stale))
        return 1
    print("generated code is up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
