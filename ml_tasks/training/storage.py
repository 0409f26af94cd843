"""Small JSON and file helpers over local folders and object storage (``s3://...``).

Training state lives next to the Ray checkpoints under ``ray_storage_path``: a local folder on
the embedded default, a bucket in production, where the Ray workers and the Airflow worker both
read it. pyarrow's filesystems cover both, so nothing here needs another client library.
"""

from __future__ import annotations

import json
import uuid
from typing import Any


def has_scheme(uri: str) -> bool:
    """True for ``scheme://...`` URIs other than ``file://``."""
    return "://" in uri and not uri.startswith("file://")


def join(base: str, *parts: str) -> str:
    """Join path segments onto a local path or a URI with forward slashes."""
    return "/".join([base.rstrip("/"), *(p.strip("/") for p in parts)])


def filesystem(uri: str) -> tuple[Any, str]:
    """The pyarrow filesystem of ``uri`` and the path inside it."""
    from pyarrow import fs

    if not has_scheme(uri):
        return fs.LocalFileSystem(), uri.removeprefix("file://")
    return fs.FileSystem.from_uri(uri)


def to_uri(filesystem_obj: Any, path: str) -> str:
    """The inverse of :func:`filesystem`: a path on ``filesystem_obj`` as a URI or local path."""
    scheme = getattr(filesystem_obj, "type_name", "local")
    if scheme in ("local", "file"):
        return path
    return f"{scheme}://{path}"


def exists(uri: str) -> bool:
    from pyarrow import fs

    filesys, path = filesystem(uri)
    return filesys.get_file_info(path).type != fs.FileType.NotFound


def read_json(uri: str) -> Any:
    filesys, path = filesystem(uri)
    with filesys.open_input_stream(path) as f:
        return json.loads(f.read().decode("utf-8"))


def write_json(uri: str, payload: Any) -> str:
    """Write JSON so that readers see the old file or the new one, never half of it."""
    filesys, path = filesystem(uri)
    parent = path.rsplit("/", 1)[0]
    filesys.create_dir(parent, recursive=True)
    data = json.dumps(payload, indent=2, sort_keys=True, default=str).encode("utf-8")
    if has_scheme(uri):
        # An object-store PUT is atomic already.
        with filesys.open_output_stream(path) as f:
            f.write(data)
        return uri
    tmp = f"{path}.{uuid.uuid4().hex}.tmp"
    with filesys.open_output_stream(tmp) as f:
        f.write(data)
    filesys.move(tmp, path)
    return uri


def download_dir(uri: str, destination: str) -> str:
    """Copy a folder (a checkpoint) from storage to a local folder; returns the local path."""
    from pyarrow import fs

    filesys, path = filesystem(uri)
    fs.copy_files(path, destination, source_filesystem=filesys)
    return destination
