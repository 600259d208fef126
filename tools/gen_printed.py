"""Records PyTorch's printed forms of every fixture program, the ground truth for pt2's
printers: `print(ep)` in fixtures/pytorch/<case>/program.printed.txt and `print(ep.graph)` in
program.graph.txt (and the same for program.core.pt2).

Usage: python tools/gen_printed.py fixtures/pytorch   (or any folder of cases: the model zoo)
"""
import pathlib
import sys

import torch


def write_printed(case):
    """PyTorch's printed forms of the programs in one case folder, as loaded back."""
    case = pathlib.Path(case)
    for archive in ("program.pt2", "program.core.pt2"):
        path = case / archive
        if not path.exists():
            continue
        try:
            ep = torch.export.load(str(path))
        except Exception as e:  # custom ops need their library; record the failure
            print(f"{path}: {type(e).__name__}: {e}", file=sys.stderr)
            continue
        out = case / archive.replace(".pt2", ".printed.txt")
        out.write_text(str(ep))
        (case / archive.replace(".pt2", ".graph.txt")).write_text(str(ep.graph))


def main(root):
    for case in sorted(pathlib.Path(root).iterdir()):
        if case.is_dir():
            write_printed(case)


if __name__ == "__main__":
    main(sys.argv[1])
