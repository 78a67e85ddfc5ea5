"""Reading a StyleGAN2-ADA / StyleGAN3 network pickle as data, without running anything from it.

A network pickle (`network-snapshot-*.pkl`) is a Python pickle of {'G', 'D', 'G_ema', 'augment_pipe',
'training_set_kwargs'} whose networks are classes made "persistent" by NVlabs' torch_utils: unpickling
one calls `torch_utils.persistence._reconstruct_persistent_obj(meta)`, and the original then executes
`meta['module_src']` (the network's source code, carried in the file) as a new module. A plain
`pickle.load` of such a file runs whatever code its author put there.

`NetworkPickleReader` (a `pickle.Unpickler`) resolves globals only from its own table (`SAFE_GLOBALS`),
and every entry is a function written here, never the original: tensors and storages are rebuilt from
the file's raw bytes, numpy scalars and arrays from their bytes with a numeric dtype, containers are
the builtin ones, and the persistence hook becomes `NetworkRecord`: the class name, the source as
text (never compiled or executed), the constructor arguments and the module's tensors by dotted name.
Any other global (`os.system`, `builtins.eval`, a network class) is refused with `PickleRefused`
naming it, before it is looked up, so nothing is imported either.

Tensor storages in these files are nested legacy `torch.save` blobs (`torch.storage._load_from_bytes`):
their inner pickle names a storage type and a key through a persistent id, and the raw bytes follow
the pickle; `_read_legacy_storage` parses that format the same restricted way.
"""

from __future__ import annotations

import io
import math
import pickle
import struct
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from studio.engine.errors import UserError

MAX_PICKLE_BYTES = 4 * 1024**3  # a StyleGAN2 1024 px snapshot with D and augment pipe is ~380 MB

# torch storage class names -> dtypes (the types legacy torch.save names in its persistent ids)
_STORAGE_DTYPES = {
    "FloatStorage": torch.float32, "DoubleStorage": torch.float64, "HalfStorage": torch.float16,
    "BFloat16Storage": torch.bfloat16, "LongStorage": torch.int64, "IntStorage": torch.int32,
    "ShortStorage": torch.int16, "CharStorage": torch.int8, "ByteStorage": torch.uint8, "BoolStorage": torch.bool,
}
# numpy dtype names a network pickle uses (np.float64 gains, int sizes): numbers only, never objects
_NUMPY_DTYPES = {"b1", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "f2", "f4", "f8"}
_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C  # torch.serialization.MAGIC_NUMBER
_LEGACY_PROTOCOL = 1001
MAX_DEPTH = 64  # nesting of modules/containers walked when turning the result into plain data
# Values visited turning the result into plain data: a network pickle has thousands; shared references
# (a list holding the same list ten times, ten levels deep) would otherwise expand without end.
MAX_NODES = 200_000
_visits = threading.local()


class PickleRefused(UserError):
    """The file is not a network pickle this reader accepts; the message says why in one sentence."""


# ----- what the file becomes ----------------------------------------------------------------------
@dataclass(frozen=True)
class NetworkRecord:
    """One persistent network object, as data: `tensors` holds its parameters and buffers and those of
    every sub-module by dotted name (`synthesis.b4.conv1.weight`), `attrs` its other plain attributes,
    `modules` each sub-module's class name by dotted name, `source` the module source it carried (text,
    never run)."""

    class_name: str
    source: str
    init_args: tuple
    init_kwargs: dict
    tensors: dict[str, torch.Tensor] = field(default_factory=dict)
    attrs: dict[str, object] = field(default_factory=dict)
    modules: dict[str, str] = field(default_factory=dict)


class _Persistent:
    """What `_reconstruct_persistent_obj(meta)` returns while unpickling: the meta dict, untouched."""

    __slots__ = ("meta",)

    def __init__(self, meta: object):
        self.meta = meta


class _TensorBox:
    """A tensor rebuilt from the file, kept boxed until the end so no BUILD opcode reaches a real tensor."""

    __slots__ = ("tensor",)

    def __init__(self, tensor: torch.Tensor):
        self.tensor = tensor

    def __setstate__(self, state):
        raise PickleRefused("The file gives a tensor a state of its own, which network pickles never do.")


class _Storage:
    """A legacy storage named by a persistent id; its bytes arrive after the inner pickle."""

    __slots__ = ("dtype", "numel", "data")

    def __init__(self, dtype: torch.dtype, numel: int):
        self.dtype, self.numel, self.data = dtype, numel, None


class _StorageType:
    __slots__ = ("dtype",)

    def __init__(self, dtype: torch.dtype):
        self.dtype = dtype


class _NDArrayType:
    """Stands for `numpy.ndarray` in `_reconstruct(numpy.ndarray, ...)`: no numpy class is ever handed out."""


class _DType:
    """A numeric numpy dtype named by the file ('f8', 'i8', ...); BUILD sets its byte order."""

    __slots__ = ("name", "order")

    def __init__(self, name: str):
        self.name, self.order = name, "<"

    def __setstate__(self, state):
        if not isinstance(state, tuple) or len(state) < 2 or state[1] not in ("<", ">", "|", "="):
            raise PickleRefused("The file holds a numpy data type this reader does not accept.")
        self.order = "<" if state[1] in ("|", "=") else state[1]

    def numpy(self) -> np.dtype:
        return np.dtype(self.order + self.name)


class _ArrayBox:
    """A numpy array; BUILD gives it (version, shape, dtype, fortran order, raw bytes)."""

    __slots__ = ("array",)

    def __init__(self):
        self.array = None

    def __setstate__(self, state):
        if not (isinstance(state, tuple) and len(state) == 5 and isinstance(state[2], _DType)
                and isinstance(state[4], (bytes, bytearray)) and isinstance(state[1], tuple)):
            raise PickleRefused("The file holds a numpy array that is not plain numbers.")
        _, shape, dtype, fortran, raw = state
        shape = _check_shape(shape)
        want = math.prod(shape) * dtype.numpy().itemsize
        if len(raw) != want:
            raise PickleRefused("A numpy array in the file has the wrong number of bytes for its shape.")
        arr = np.frombuffer(bytes(raw), dtype=dtype.numpy())
        self.array = arr.reshape(shape, order="F" if fortran else "C").copy()


class _EasyDict(dict):
    """dnnlib.EasyDict (a dict with attribute access) becomes a plain dict subclass with no behaviour."""


# ----- the functions the allowed globals stand for ---------------------------------------------------
def _check_shape(shape: object) -> tuple[int, ...]:
    if not isinstance(shape, tuple) or len(shape) > 8 or not all(
            isinstance(n, int) and not isinstance(n, bool) and 0 <= n < 2**40 for n in shape):
        raise PickleRefused("The file holds an array with an impossible shape.")
    return shape


def _reconstruct_persistent_obj(meta: object) -> _Persistent:
    # The original imports meta['module_src'] as a module and runs it; here it stays a string.
    return _Persistent(meta)


def _rebuild_tensor(storage: object, offset: object, size: object, stride: object) -> _TensorBox:
    if not isinstance(storage, _Storage) or storage.data is None:
        raise PickleRefused("A tensor in the file does not refer to stored numbers.")
    size, stride = _check_shape(tuple(size)), _check_shape(tuple(stride))
    if not isinstance(offset, int) or offset < 0 or len(size) != len(stride) or math.prod(size) > storage.numel:
        # more elements than stored would mean overlapping views: a tiny file posing as a huge tensor
        raise PickleRefused("A tensor in the file has an impossible layout.")
    last = offset + sum((n - 1) * s for n, s in zip(size, stride)) if all(size) else offset - 1
    if last >= storage.numel:
        raise PickleRefused("A tensor in the file reaches past the numbers stored for it.")
    if not all(size):
        return _TensorBox(torch.zeros(size, dtype=storage.dtype))
    # a view: tensors sharing a storage cost its bytes once (the mapping copies what it uses)
    return _TensorBox(torch.as_strided(storage.data, size, stride, offset))


def _rebuild_tensor_v2(storage, offset, size, stride, requires_grad=False, backward_hooks=None, metadata=None):
    if backward_hooks:  # hooks would be callables: a network pickle has none
        raise PickleRefused("A tensor in the file carries hooks, which network pickles never do.")
    return _rebuild_tensor(storage, offset, size, stride)


def _rebuild_parameter(data, requires_grad=False, backward_hooks=None, state=None):
    if not isinstance(data, _TensorBox) or backward_hooks:
        raise PickleRefused("A parameter in the file is not a plain tensor.")
    return data


def _load_from_bytes(blob: object) -> _Storage:
    if not isinstance(blob, (bytes, bytearray)):
        raise PickleRefused("A tensor storage in the file is not stored as bytes.")
    return _read_legacy_storage(bytes(blob))


def _numpy_dtype(name: object, align: object = False, copy: object = True) -> _DType:
    if name not in _NUMPY_DTYPES:
        raise PickleRefused(f"The file holds numpy data of type {name!r}; only plain numbers are accepted.")
    return _DType(name)


def _numpy_scalar(dtype: object, raw: object = None):
    if not isinstance(dtype, _DType) or not isinstance(raw, (bytes, bytearray)):
        raise PickleRefused("The file holds a numpy number that is not plain data.")
    if len(raw) != dtype.numpy().itemsize:
        raise PickleRefused("A numpy number in the file has the wrong number of bytes.")
    return np.frombuffer(bytes(raw), dtype=dtype.numpy())[0].item()


def _numpy_reconstruct(cls: object, shape: object, typecode: object) -> _ArrayBox:
    if cls is not _NDArrayType:
        raise PickleRefused("The file rebuilds a numpy object other than an array.")
    return _ArrayBox()


def _numpy_frombuffer(buf: object, dtype: object, shape: object, order: object = "C") -> _ArrayBox:
    # how protocol-5 pickles spell an array: _frombuffer(bytes, dtype, shape, order)
    box = _ArrayBox()
    box.__setstate__((1, shape, dtype, order == "F", bytes(buf) if isinstance(buf, (bytes, bytearray)) else None))
    return box


def _codecs_encode(text: object, encoding: object = "utf-8") -> bytes:
    # how protocol-2 pickles spell bytes: _codecs.encode('\x80...', 'latin1')
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise PickleRefused("The file encodes bytes in a way network pickles never do.")
    return text.encode("latin1")


SAFE_GLOBALS: dict[tuple[str, str], object] = {
    ("torch_utils.persistence", "_reconstruct_persistent_obj"): _reconstruct_persistent_obj,
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
    ("torch.storage", "_load_from_bytes"): _load_from_bytes,
    ("collections", "OrderedDict"): OrderedDict,
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("__builtin__", "set"): set,
    ("_codecs", "encode"): _codecs_encode,
    ("numpy", "dtype"): _numpy_dtype,
    ("numpy", "ndarray"): _NDArrayType,
    ("numpy.core.multiarray", "scalar"): _numpy_scalar,
    ("numpy._core.multiarray", "scalar"): _numpy_scalar,
    ("numpy.core.multiarray", "_reconstruct"): _numpy_reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _numpy_reconstruct,
    ("numpy.core.numeric", "_frombuffer"): _numpy_frombuffer,
    ("numpy._core.numeric", "_frombuffer"): _numpy_frombuffer,
    ("dnnlib.util", "EasyDict"): _EasyDict,
    ("dnnlib", "EasyDict"): _EasyDict,
    **{("torch", name): _StorageType(dtype) for name, dtype in _STORAGE_DTYPES.items()},
}


def _refuse_global(module: str, name: str) -> PickleRefused:
    hint = ""
    if module.startswith("dnnlib.tflib"):
        hint = (" It is a TensorFlow-era StyleGAN/StyleGAN2 pickle; convert it to the PyTorch format first "
                "(NVlabs' stylegan2-ada-pytorch legacy.py does).")
    return PickleRefused(f"The file asks to load '{module}.{name}', which a network pickle never needs, so it "
                         f"was not opened (nothing in it was run).{hint}")


class _RestrictedUnpickler(pickle.Unpickler):
    """Globals from SAFE_GLOBALS only; `persistent_load` for the inner storage pickles only."""

    def __init__(self, file, storages: dict | None = None):
        super().__init__(file)
        self._storages = storages  # None: the outer pickle, which has no persistent ids

    def find_class(self, module: str, name: str):
        found = SAFE_GLOBALS.get((module, name))
        if found is None:
            raise _refuse_global(module, name)
        return found

    def persistent_load(self, pid):
        if self._storages is None:
            raise PickleRefused("The file refers to data outside its pickle, which network pickles never do.")
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage" and isinstance(pid[1], _StorageType)
                and isinstance(pid[2], str) and isinstance(pid[4], int) and 0 <= pid[4] < 2**40):
            raise PickleRefused("A tensor storage in the file is described in a way this reader does not accept.")
        if len(pid) > 5 and pid[5] is not None:  # a view into another storage (torch < 0.4 files)
            raise PickleRefused("The file stores tensors as views of other storages, an old format not accepted.")
        key = pid[2]
        if key not in self._storages:
            self._storages[key] = _Storage(pid[1].dtype, pid[4])
        return self._storages[key]


def _load(stream: io.BytesIO, storages: dict | None = None):
    try:
        return _RestrictedUnpickler(stream, storages).load()
    except PickleRefused:
        raise
    except RecursionError:
        raise PickleRefused("The file nests its data too deeply to be a network pickle.") from None
    except Exception as e:  # a damaged or foreign pickle: truncated, bad opcodes, wrong arguments
        raise PickleRefused(f"The file is not a readable network pickle ({e.__class__.__name__}: damaged, "
                            "truncated or another kind of file).") from None


def _read_legacy_storage(blob: bytes) -> _Storage:
    """One storage from a legacy torch.save blob: magic, protocol and system-info pickles, a pickle of
    the storage (a persistent id), the list of storage keys, then per key an int64 element count and the
    raw little-endian elements."""
    f = io.BytesIO(blob)
    if _load(f) != _LEGACY_MAGIC or _load(f) != _LEGACY_PROTOCOL:
        raise PickleRefused("A tensor storage in the file is not in the format torch writes.")
    sys_info = _load(f)
    if not isinstance(sys_info, dict) or sys_info.get("little_endian") is not True:
        raise PickleRefused("The file's tensors were written on a big-endian machine, which is not supported.")
    storages: dict[str, _Storage] = {}
    result = _load(f, storages)
    keys = _load(f)
    if not isinstance(result, _Storage) or not isinstance(keys, list) or set(keys) != set(storages):
        raise PickleRefused("A tensor storage in the file is not in the format torch writes.")
    for key in keys:
        storage = storages[key]
        head = f.read(8)
        if len(head) != 8:
            raise PickleRefused("The file ends inside a tensor: it is truncated.")
        (count,) = struct.unpack("<q", head)
        itemsize = torch.empty((), dtype=storage.dtype).element_size()
        if count != storage.numel:
            raise PickleRefused("A tensor storage in the file has another size than it says.")
        raw = f.read(count * itemsize)
        if len(raw) != count * itemsize:
            raise PickleRefused("The file ends inside a tensor: it is truncated.")
        storage.data = torch.frombuffer(bytearray(raw), dtype=storage.dtype) if count else torch.empty(
            0, dtype=storage.dtype)
    return result


# ----- turning the unpickled objects into plain data ----------------------------------------------------
def _visit() -> None:
    _visits.count = getattr(_visits, "count", 0) + 1
    if _visits.count > MAX_NODES:
        raise PickleRefused("The file holds far more values than a network pickle; it was not read further.")


def _plain(value: object, depth: int = 0) -> object:
    """Boxes -> tensors / arrays, persistent objects -> NetworkRecord, containers -> dict/list/tuple."""
    if depth > MAX_DEPTH:
        raise PickleRefused("The file nests its data too deeply to be a network pickle.")
    _visit()
    if isinstance(value, _TensorBox):
        return value.tensor
    if isinstance(value, _ArrayBox):
        if value.array is None:
            raise PickleRefused("The file holds a numpy array without data.")
        return value.array
    if isinstance(value, _Persistent):
        return _record(value.meta, depth + 1)
    if isinstance(value, dict):
        return {k: _plain(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        out = [_plain(v, depth + 1) for v in value]
        return out if isinstance(value, list) else tuple(out)
    if isinstance(value, (set, frozenset)):
        return [_plain(v, depth + 1) for v in value]
    if value is None or isinstance(value, (bool, int, float, str, bytes, complex)):
        return value
    raise PickleRefused(f"The file holds a {type(value).__name__} where a network pickle holds plain data.")


def _record(meta: object, depth: int) -> NetworkRecord:
    if not (isinstance(meta, dict) and meta.get("type") == "class" and isinstance(meta.get("class_name"), str)
            and isinstance(meta.get("module_src"), str) and isinstance(meta.get("state"), dict)):
        raise PickleRefused("A persistent object in the file is not a network this reader understands.")
    tensors: dict[str, torch.Tensor] = {}
    attrs: dict[str, object] = {}
    modules: dict[str, str] = {}
    _walk(meta["state"], "", tensors, attrs, modules, depth)
    state = meta["state"]
    init_args = _plain(state.get("_init_args", ()), depth + 1)
    init_kwargs = _plain(state.get("_init_kwargs", {}), depth + 1)
    return NetworkRecord(meta["class_name"], meta["module_src"], tuple(init_args or ()), dict(init_kwargs or {}),
                         tensors, attrs, modules)


def _walk(state: dict, prefix: str, tensors: dict, attrs: dict, modules: dict, depth: int) -> None:
    """A torch module's __dict__: parameters and buffers into `tensors`, sub-modules recursively."""
    if depth > MAX_DEPTH:
        raise PickleRefused("The file nests its networks too deeply to be a network pickle.")
    _visit()
    for group in ("_parameters", "_buffers"):
        for name, value in (state.get(group) or {}).items():
            if value is None:
                continue
            if not isinstance(value, _TensorBox):
                raise PickleRefused(f"'{prefix}{name}' in the file is not a tensor.")
            tensors[prefix + str(name)] = value.tensor
    for name, sub in (state.get("_modules") or {}).items():
        if sub is None:
            continue
        if not isinstance(sub, _Persistent) or not isinstance(sub.meta, dict) or not isinstance(
                sub.meta.get("state"), dict):
            raise PickleRefused(f"The sub-network '{prefix}{name}' in the file is not a persistent network.")
        modules[prefix + str(name)] = str(sub.meta.get("class_name"))
        _walk(sub.meta["state"], f"{prefix}{name}.", tensors, attrs, modules, depth + 1)
    for name, value in state.items():
        if name.startswith("_") or name == "training":
            continue
        try:
            attrs[prefix + name] = _plain(value, depth + 1)
        except PickleRefused:
            pass  # an attribute the mapping never reads (hooks, caches) does not stop the import


def read_network_pickle(path: Path | str) -> dict[str, object]:
    """The top-level dict of a network pickle as plain data: networks as `NetworkRecord`s, tensors as CPU
    torch tensors, numpy arrays, numbers, strings and containers. Raises PickleRefused (a UserError)
    for anything else, naming what it refused; nothing from the file is imported or run. Any thread."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_PICKLE_BYTES:
            raise PickleRefused(f"{path.name} is {size >> 20} MB, too large to be a network pickle.")
        blob = path.read_bytes()
    except FileNotFoundError:
        raise UserError(f"{path} does not exist.") from None
    except OSError as e:
        raise UserError(f"{path} cannot be read ({e.strerror}).") from None
    if blob[:2] == b"PK":
        raise PickleRefused(f"{path.name} is a torch.save archive, not a StyleGAN2-ADA network pickle.")
    _visits.count = 0
    try:
        data = _plain(_load(io.BytesIO(blob)))
    except PickleRefused:
        raise
    except (TypeError, ValueError, AttributeError, KeyError) as e:  # containers where modules belong, etc.
        raise PickleRefused(f"{path.name} is not laid out as a network pickle ({e.__class__.__name__}).") from None
    if not isinstance(data, dict):
        raise PickleRefused(f"{path.name} holds a {type(data).__name__}, not the dict a network pickle holds.")
    return data
