"""The model kinds the studio knows, and building a training session for a project of any kind.

Front ends call `create_session` / `open_session` and then drive the returned TrainingSession;
only this module knows which trainer class and data folders a kind needs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from studio.engine.config import RunSettings, config_from_dict
from studio.engine.data import DataConfig, ImageDataset, dataset_fingerprint, prepare_dataset
from studio.engine.data_folders import check_folders
from studio.engine.device import pick_device
from studio.engine.distributed import SINGLE, DistInfo
from studio.engine.errors import UserError
from studio.engine.project import Project
from studio.engine.session import TrainingSession

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class KindSpec:
    name: str  # "dcgan" | "cyclegan"
    title: str  # shown to users
    roles: tuple[str, ...]  # data folders the kind needs, e.g. ("data",) or ("a", "b")
    config_cls: type
    # (model config, run settings, datasets by role, device, dist_info) -> trainer
    make_trainer: Callable[..., object]
    # (model config, data config) -> the DataConfig used to load the folders (e.g. a larger load size)
    load_config: Callable[[object, DataConfig], DataConfig]
    # (data config, datasets by role, overrides) -> model config with defaults derived from the data
    default_config: Callable[[DataConfig, dict[str, ImageDataset], dict], object]
    # whether the kind trains data-parallel over several processes (gan-studio --devices N)
    distributed: bool = False


_KINDS: dict[str, KindSpec] = {}


def register(spec: KindSpec) -> None:
    _KINDS[spec.name] = spec


def get_kind(name: str) -> KindSpec:
    _load_builtin()
    if name not in _KINDS:
        raise UserError(f"unknown model kind '{name}' (known: {', '.join(sorted(_KINDS))})")
    return _KINDS[name]


def kinds() -> list[KindSpec]:
    _load_builtin()
    return list(_KINDS.values())


def _load_builtin() -> None:
    # Imported lazily so that `kinds` has no import cycle with the trainers that register themselves.
    import studio.engine.dcgan_kind  # noqa: F401

    try:
        import studio.engine.cyclegan_kind  # noqa: F401
    except ModuleNotFoundError as e:  # while CycleGAN is not part of the build
        if e.name != "studio.engine.cyclegan_kind":
            raise


def load_datasets(
    spec: KindSpec,
    folders: dict[str, str],
    data_cfg: DataConfig,
    progress: Progress | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> dict[str, ImageDataset]:
    missing = [r for r in spec.roles if not folders.get(r)]
    if missing:
        raise UserError(f"{spec.title} needs a data folder for: {', '.join(missing)}")
    return {
        role: prepare_dataset(folders[role], data_cfg, progress=progress, should_cancel=should_cancel)
        for role in spec.roles
    }


def create_session(
    out: Path | str,
    kind: str,
    folders: dict[str, str],
    data_cfg: DataConfig,
    settings: RunSettings,
    overrides: dict | None = None,
    progress: Progress | None = None,
    should_cancel: Callable[[], bool] | None = None,
    dist_info: DistInfo = SINGLE,
) -> TrainingSession:
    """Prepare the data, derive the model config, create the project folder and its trainer.

    Raises UserError for anything the user can fix (bad folders, sizes, an occupied --out)."""
    spec = get_kind(kind)
    Project.check_new_root(out)  # before minutes of decoding, not after
    folders = {r: str(Path(f).expanduser().resolve()) for r, f in folders.items()}
    preview = spec.default_config(data_cfg, {}, dict(overrides or {}))  # validates sizes before any decoding
    load_cfg = spec.load_config(preview, data_cfg)
    datasets = load_datasets(spec, folders, load_cfg, progress, should_cancel)
    model_cfg = spec.default_config(data_cfg, datasets, dict(overrides or {}))
    device = pick_device(settings.device)
    trainer = _make_trainer(spec, model_cfg, settings, datasets, device, dist_info)
    project = Project.create(
        out,
        kind,
        {
            "model": dataclasses.asdict(model_cfg),
            "data": {
                "config": dataclasses.asdict(data_cfg),
                "folders": folders,
                "fingerprints": {r: d.fingerprint for r, d in datasets.items()},
                "counts": {r: len(d.images) for r, d in datasets.items()},
                "reports": {r: d.report.to_dict() for r, d in datasets.items()},
            },
            "run": dataclasses.asdict(settings),
        },
    )
    return TrainingSession(project, trainer, settings)


def open_session(
    root: Path | str,
    device: str | None = None,
    steps: int | None = None,
    progress: Progress | None = None,
    should_cancel: Callable[[], bool] | None = None,
    dist_info: DistInfo = SINGLE,
) -> TrainingSession:
    """Open a project to continue training exactly where its latest checkpoint stopped."""
    project = Project.open(root, clean=dist_info.is_main)
    spec = get_kind(project.kind)
    settings = config_from_dict(RunSettings, project.meta.get("run"))
    if device is not None:
        settings = dataclasses.replace(settings, device=device)
    if steps is not None:
        settings = dataclasses.replace(settings, steps=steps)
    data = project.meta.get("data", {})
    data_cfg = config_from_dict(DataConfig, data.get("config"))
    model_cfg = config_from_dict(spec.config_cls, project.meta.get("model"))
    folders = data.get("folders", {})
    warnings = []
    check_folders(project)
    for role, folder in folders.items():
        old = data.get("fingerprints", {}).get(role)
        if old and dataset_fingerprint(folder) != old:
            warnings.append(
                f"images in {folder} changed since this project started (files added, removed or replaced); "
                "training continues on the folder as it is now"
            )
    datasets = load_datasets(spec, folders, spec.load_config(model_cfg, data_cfg), progress, should_cancel)
    trainer = _make_trainer(spec, model_cfg, settings, datasets, pick_device(settings.device), dist_info)
    session = TrainingSession(project, trainer, settings, warnings)
    session.restore_latest()
    if steps is not None and dist_info.is_main:
        project.save_meta(run=dataclasses.asdict(settings))
    return session



def _make_trainer(spec: KindSpec, model_cfg, settings: RunSettings, datasets: dict, device, dist_info: DistInfo):
    if not dist_info.active:
        return spec.make_trainer(model_cfg, settings, datasets, device)
    if not spec.distributed:
        raise UserError(f"{spec.title} cannot train on several devices yet; drop --devices")
    return spec.make_trainer(model_cfg, settings, datasets, device, dist_info=dist_info)
