"""Named latents, named directions and gallery favourites, kept in the project folder.

They live in ``explore.json`` next to ``project.json``: small, human-readable, and usable without
the app (latents are plain lists of numbers; ``numpy.array(entry["z"])`` gives the vector back):

    {
      "format": 1,
      "z_dim": 100,
      "latents":    [{"name": "red chair", "z": [0.12, -1.3, ...], "source": "seed 7", "created": "..."}],
      "directions": [{"name": "glasses", "v": [...], "source": "A - B", "created": "..."}],
      "favourites": [{"z": [...], "source": "seed 3 #5", "created": "..."}]
    }

Style-based models are also explored in W; their entries say so with a "space" key and hold styles:
``"space": "w"`` one w (w_dim numbers, the same style on every layer) or ``"space": "w+"`` one style
per layer (num_ws * w_dim numbers, layer after layer: style mixing, projections, layer-group
directions). Entries without "space" are z, as before. A store shows the entries of one space (the
explorer's); the others are kept verbatim and written back.

A z entry of a generator with classes also keeps the class its picture was drawn as:
``"class_weights": [0, 1, 0]`` (one weight per class, in the model's class order), so a bookmark
or favourite shows the same picture whichever class the explorer draws later. In W the class is in
the styles themselves.

Numbers are written with 9 significant digits, which round-trips float32 exactly: a bookmark
renders the very same picture after reopening. Every save is atomic (temp file + rename), so a
crash leaves the previous file intact. A damaged file is moved aside (``explore.damaged-*.json``)
rather than overwritten, and the store starts empty with a warning for the user.

An `ExploreStore` is plain data + file I/O for one thread (the GUI thread in the studio).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from studio.engine.atomic import write_text_atomic
from studio.engine.errors import UserError
from studio.engine.project.folder import EXPLORE_FILE, ProjectLayout
from studio.engine.project.schema import explore_problem

FILE_NAME = EXPLORE_FILE  # named in the warnings
FORMAT = 1


@dataclass
class Entry:
    """A named vector: a latent (a point) or a direction (a difference between points)."""

    name: str  # shown in menus; unique within its list
    vector: np.ndarray  # float32 (dim,): z, or flat ws (num_ws * w_dim) in a store of W
    source: str = ""  # where it came from, e.g. "seed 12 #3" or "A - B"
    created: str = field(default_factory=lambda: time.strftime("%Y-%m-%dT%H:%M:%S"))
    # the class weights a z latent was drawn as (a generator with classes); None: none recorded
    labels: np.ndarray | None = None


def _numbers(v: np.ndarray) -> list[float]:
    return [float(f"{x:.9g}") for x in np.asarray(v, dtype=np.float32).tolist()]


def _class_weights(values, what: str) -> np.ndarray | None:
    """An entry's class weights (None stays None): a flat list of finite, non-negative numbers."""
    if values is None:
        return None
    w = np.asarray(values, dtype=np.float32)
    if w.ndim != 1 or w.size == 0 or not np.isfinite(w).all() or (w < 0).any():
        raise ValueError(f"{what} has class weights that are not a list of non-negative numbers")
    return w.copy()


def _vector(values, z_dim: int | None, what: str) -> np.ndarray:
    v = np.asarray(values, dtype=np.float32)
    if v.ndim != 1 or (z_dim is not None and len(v) != z_dim):
        raise ValueError(f"{what} has {v.size} values, this model needs {z_dim}")
    if not np.isfinite(v).all():
        raise ValueError(f"{what} holds a value that is not a finite number")
    return v


class ExploreStore:
    """Bookmarks of one project. Mutating methods save immediately (and atomically)."""

    def __init__(self, root: Path | str, z_dim: int | None = None, space: str = "z",
                 w_shape: tuple[int, int] | None = None):
        if space not in ("z", "w") or (space == "w" and not w_shape):
            raise ValueError("a store is of space 'z', or 'w' with w_shape=(num_ws, w_dim)")
        self.root = Path(root)
        self.z_dim = z_dim
        self.space = space  # the space of the entries in the lists below (vectors: flat ws in W)
        self.w_shape = tuple(w_shape) if space == "w" else None
        self.latents: list[Entry] = []
        self.directions: list[Entry] = []
        self.favourites: list[Entry] = []
        self.warnings: list[str] = []
        # entries that do not fit this model (another z_dim) or are of another space are kept verbatim
        # and written back
        self._kept: dict[str, list] = {"latents": [], "directions": [], "favourites": []}

    @property
    def path(self) -> Path:
        return ProjectLayout(self.root).explore_path

    # ----- open / save -------------------------------------------------------------------------------
    @property
    def dim(self) -> int | None:
        """Length of this store's vectors: z_dim in z, num_ws * w_dim in W."""
        return self.z_dim if self.space == "z" else self.w_shape[0] * self.w_shape[1]

    def _from_file(self, item: dict, values, what: str) -> np.ndarray | None:
        """An entry's vector in this store's space, or None when the entry belongs to another space."""
        space = item.get("space", "z")
        if space not in ("z", "w", "w+"):
            raise ValueError(f"{what} is of an unknown space '{space}'")
        if (space == "z") != (self.space == "z"):
            return None
        if space == "z":
            return _vector(values, self.z_dim, what)
        num_ws, w_dim = self.w_shape
        v = _vector(values, w_dim if space == "w" else num_ws * w_dim, what)
        return np.tile(v, num_ws) if space == "w" else v

    def _to_file(self, v: np.ndarray) -> dict:
        """A vector of this store's space as JSON fields: plain in z; in W one w when every layer has
        the same style (shorter, and readable as a w), else all of w+."""
        if self.space == "z":
            return {}
        rows = np.asarray(v, dtype=np.float32).reshape(self.w_shape)
        if (rows == rows[:1]).all():
            return {"space": "w", "values": rows[0]}
        return {"space": "w+", "values": rows.reshape(-1)}

    @classmethod
    def open(cls, root: Path | str, z_dim: int | None = None, space: str = "z",
             w_shape: tuple[int, int] | None = None) -> ExploreStore:
        """Load the project's bookmarks (an empty store if there are none yet).

        Entries that do not fit `z_dim` (or are malformed) are skipped with a warning and written
        back unchanged on the next save, so nothing the user made is silently lost. A file that
        cannot be parsed at all is renamed aside. `space` "w" (with `w_shape` (num_ws, w_dim)): the
        store of the explorer in W; z entries are kept aside then, as W entries are in z."""
        store = cls(root, z_dim, space, w_shape)
        if not store.path.exists():
            return store
        try:
            data = json.loads(store.path.read_text(encoding="utf-8"))
            problem = explore_problem(data, FORMAT)  # wrong types would otherwise fail below, unguarded
            if problem is not None:
                raise ValueError(problem)
            if store.z_dim is None and data.get("z_dim") is not None:
                store.z_dim = data["z_dim"]
        except UserError:
            raise
        except (OSError, UnicodeDecodeError, ValueError, TypeError, RecursionError) as e:
            aside = store.root / f"explore.damaged-{time.strftime('%Y%m%d-%H%M%S')}.json"
            try:
                store.path.replace(aside)
                store.warnings.append(
                    f"{FILE_NAME} was damaged ({e.__class__.__name__}); kept as {aside.name}, starting empty")
            except OSError:
                store.warnings.append(f"{FILE_NAME} is damaged and could not be moved aside")
            return store
        for key, vec_key, target in (("latents", "z", store.latents), ("directions", "v", store.directions),
                                     ("favourites", "z", store.favourites)):
            for i, item in enumerate(data.get(key) or []):
                try:
                    name = str(item.get("name", "")) if key == "favourites" else str(item["name"])
                    vec = store._from_file(item, item[vec_key], f"{key[:-1]} '{name or i}'")
                    if vec is None:  # another space's: not shown here, written back as it is
                        store._kept[key].append(item)
                        continue
                    labels = store._labels(item.get("class_weights"), f"{key[:-1]} '{name or i}'")
                    target.append(Entry(name, vec, str(item.get("source", "")), str(item.get("created", "")), labels))
                except (KeyError, TypeError, ValueError, AttributeError) as e:
                    store.warnings.append(f"skipped {key[:-1]} {i + 1} in {FILE_NAME}: {e}")
                    store._kept[key].append(item)
        return store

    def to_json(self) -> dict:
        def entries(items: list[Entry], vec_key: str, named: bool = True) -> list[dict]:
            out = []
            for e in items:
                d = {"name": e.name} if named or e.name else {}
                fields = self._to_file(e.vector)
                if fields:
                    d["space"] = fields["space"]
                d[vec_key] = _numbers(fields.get("values", e.vector))
                if e.source:
                    d["source"] = e.source
                if e.labels is not None:
                    d["class_weights"] = _numbers(e.labels)
                d["created"] = e.created
                out.append(d)
            return out

        return {
            "format": FORMAT,
            "z_dim": self.z_dim,
            "latents": entries(self.latents, "z") + self._kept["latents"],
            "directions": entries(self.directions, "v") + self._kept["directions"],
            "favourites": entries(self.favourites, "z", named=False) + self._kept["favourites"],
        }

    def save(self) -> None:
        """Write explore.json atomically. UserError if the folder cannot be written."""
        text = json.dumps(self.to_json(), indent=1)
        try:
            write_text_atomic(self.path, text + "\n")
        except OSError as e:
            raise UserError(f"Cannot save bookmarks to {self.path}: {e.strerror or e}.") from None

    # ----- editing -------------------------------------------------------------------------------------
    def _commit(self, undo) -> None:
        """Save; if that fails, undo the in-memory change so memory and file stay the same."""
        try:
            self.save()
        except BaseException:
            undo()
            raise

    def _check(self, v, what: str) -> np.ndarray:
        v = _vector(v, self.dim, what)
        if self.space == "z" and self.z_dim is None:
            self.z_dim = len(v)
        return v.copy()

    @staticmethod
    def _unique(items: list[Entry], name: str) -> str:
        name = " ".join(str(name).split()) or "untitled"
        taken = {e.name for e in items}
        if name not in taken:
            return name
        i = 2
        while f"{name} ({i})" in taken:
            i += 1
        return f"{name} ({i})"

    def _labels(self, labels, what: str) -> np.ndarray | None:
        """Class weights to keep with an entry, checked: for z; none in W, where the styles hold the class."""
        weights = _class_weights(labels, what)
        return weights if self.space == "z" else None

    def add_latent(self, name: str, z, source: str = "", labels=None) -> Entry:
        """Bookmark a latent under `name` (made unique with " (2)" etc.), with the class weights it was
        drawn as (`labels`, generators with classes); saves. Returns the entry."""
        e = Entry(self._unique(self.latents, name), self._check(z, f"latent '{name}'"), source,
                  labels=self._labels(labels, f"latent '{name}'"))
        self.latents.append(e)
        self._commit(lambda: self.latents.remove(e))
        return e

    def add_direction(self, name: str, v, source: str = "") -> Entry:
        """Save a direction (e.g. mean(A) - mean(B)) under `name`; saves. Returns the entry."""
        vec = self._check(v, f"direction '{name}'")
        if not np.any(vec):
            raise UserError("This direction is all zeros (the two sides are the same); pick different exemplars.")
        e = Entry(self._unique(self.directions, name), vec, source)
        self.directions.append(e)
        self._commit(lambda: self.directions.remove(e))
        return e

    def add_favourite(self, z, source: str = "", labels=None) -> Entry:
        """Mark a latent as a favourite, with the class weights it was drawn as (`labels`); a no-op if an
        identical latent is already one; saves."""
        vec = self._check(z, "favourite")
        for e in self.favourites:
            if np.array_equal(e.vector, vec):
                return e
        e = Entry("", vec, source, labels=self._labels(labels, "favourite"))
        self.favourites.append(e)
        self._commit(lambda: self.favourites.remove(e))
        return e

    def is_favourite(self, z) -> bool:
        vec = np.asarray(z, dtype=np.float32)
        return any(np.array_equal(e.vector, vec) for e in self.favourites)

    def remove_favourite(self, z) -> bool:
        vec = np.asarray(z, dtype=np.float32)
        before = list(self.favourites)
        self.favourites = [e for e in self.favourites if not np.array_equal(e.vector, vec)]
        if len(self.favourites) == len(before):
            return False
        self._commit(lambda: setattr(self, "favourites", before))
        return True

    def _find(self, items: list[Entry], name: str) -> Entry:
        for e in items:
            if e.name == name:
                return e
        raise KeyError(name)

    def latent(self, name: str) -> np.ndarray:
        return self._find(self.latents, name).vector

    def direction(self, name: str) -> np.ndarray:
        return self._find(self.directions, name).vector

    def remove_latent(self, name: str) -> None:
        self._remove(self.latents, name)

    def remove_direction(self, name: str) -> None:
        self._remove(self.directions, name)

    def _remove(self, items: list[Entry], name: str) -> None:
        e = self._find(items, name)
        i = items.index(e)
        items.remove(e)
        self._commit(lambda: items.insert(i, e))

    def rename_latent(self, old: str, new: str) -> str:
        return self._rename(self.latents, old, new)

    def rename_direction(self, old: str, new: str) -> str:
        return self._rename(self.directions, old, new)

    def _rename(self, items: list[Entry], old: str, new: str) -> str:
        e = self._find(items, old)
        e.name = self._unique([x for x in items if x is not e], new)
        self._commit(lambda: setattr(e, "name", old))
        return e.name
