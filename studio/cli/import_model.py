"""`gan-studio import-model FILE.pkl --out PROJECT`: a StyleGAN2-ADA network pickle as a style-based project.

The file is read as data only (see `studio.engine.models.stylegan.safe_unpickle`): nothing from it is
imported or run, and a file that names anything else to load is refused. The project opens in the
explorer and can be fine-tuned (`gan-studio train stylegan --from PROJECT --data DIR ...`).
"""

from __future__ import annotations

import argparse

from studio.cli.values import user_path


def add_import_parser(sub) -> argparse.ArgumentParser:
    """Register the `import-model` subcommand on an argparse subparsers object."""
    p = sub.add_parser("import-model", help="open a StyleGAN2-ADA network pickle (.pkl) as a project, safely",
                       description="Import a StyleGAN2-ADA network pickle as a style-based project. The file is "
                                   "read as data: its code is never run, and a file naming anything else to load "
                                   "is refused.")
    p.add_argument("file", type=user_path, metavar="FILE.pkl", help="the network pickle (network-snapshot-*.pkl)")
    p.add_argument("--out", type=user_path, required=True, help="new or empty folder for the project")
    return p


def run_import(args) -> int:
    from studio.engine.models.stylegan.pkl_import import describe, import_network_pickle

    project = import_network_pickle(args.file, args.out)
    print(describe(project))
    return 0
