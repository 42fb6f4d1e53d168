"""Loading a namespace file (fast path: yaml-rs/orjson, validation on plain data, line numbers found only when there
is a problem) into its checked plain data, and the `Document`s built from it when first asked for
(`gitstore.format.models`, which also writes documents back in Flipt's canonical form). Reading and checking a file
imports no pydantic model: `flagdeck validate` and `export --format json` never build one for ordinary files."""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from gitstore.errors import Problem
from gitstore.format.limits import check_data, checked_json, size_problem
from gitstore.format.lines import attach_lines
from gitstore.format.validation import check_documents, namespace_claims, namespace_key
from gitstore.format.validation_rules import Finding
from gitstore.format.yamlio import ParseError, decode_text, parse_documents
from gitstore.gcpause import gc_paused

if TYPE_CHECKING:  # the models are built (`gitstore.format.models`) only when a document is asked for
    from gitstore.model.documents import Document

__all__ = ["Documents", "LoadResult", "load_document", "result_from_data"]


class Documents(Mapping[str, "Document"]):
    """The namespaces of a valid file (namespace -> `Document`), each built from the file's checked plain data the
    first time it is asked for: `flagdeck validate` builds none, `flagdeck eval FLAG` one flag (`partial`), so a
    100,000-flag file costs them no 700,000 model objects. `data`: the checked plain documents, or a function giving
    them (a parse cache entry decodes its JSON only when a document is asked for). Thread-safe; built once. A build
    holds its own lock, not the data's: `parts` (what the evaluator compiles single flags from while a namespace
    is being built) never waits for a whole build."""

    def __init__(self, keys: Iterable[str], data: list[Any] | Callable[[], list[Any]] | None,
                 built: Mapping[str, Document] | None = None, json: bytes | None = None):
        self._keys = tuple(keys)
        self._data = data
        self._json = json  # the plain documents as JSON, made by the limit check, until the parse cache takes it
        self._groups: dict[str, list[dict[str, Any]]] | None = None
        self._built: dict[str, Document] = dict(built or {})
        self._lock = threading.Lock()  # the plain data
        self._building = threading.Lock()  # a build

    @classmethod
    def of(cls, documents: Mapping[str, Document]) -> Documents:
        """Documents already built (a file the writer has just verified)."""
        return cls(documents, None, documents)

    @property
    def built(self) -> tuple[str, ...]:
        """The namespaces built so far (what a test or a benchmark asks to see that nothing else was)."""
        return tuple(key for key in self._keys if key in self._built)

    @property
    def data(self) -> list[Any] | None:
        """The checked plain documents (None for `Documents.of`, and once every namespace is built: a parse cache
        saves them right after loading)."""
        with self._lock:
            return self._plain()

    def take_json(self) -> bytes | None:
        """The checked plain documents as JSON (`gitstore.format.limits.JSON_OPTIONS`) when loading made it, once:
        what a parse cache writes without serialising the data again."""
        with self._lock:
            found, self._json = self._json, None
            return found

    def _plain(self) -> list[Any] | None:
        if callable(self._data):
            self._data = self._data()
        return self._data

    def _parts(self, key: str) -> list[dict[str, Any]] | None:
        if self._groups is None:
            plain = self._plain()
            if plain is None:
                return None
            self._groups = _groups(plain)
        return self._groups[key]

    def parts(self, key: str) -> list[dict[str, Any]] | None:
        """The checked plain documents of namespace `key` (the file's documents claiming it, in file order), or
        None once it is built (then read the built `Document`). Never modify them."""
        if key not in self._keys:
            raise KeyError(key)
        with self._lock:
            return None if key in self._built else self._parts(key)

    def __getitem__(self, key: str) -> Document:
        found = self._built.get(key)
        if found is not None:
            return found
        if key not in self._keys:
            raise KeyError(key)
        with self._building, gc_paused():
            found = self._built.get(key)
            if found is None:
                with self._lock:
                    parts = self._parts(key)
                assert parts is not None, "plain data is let go only once every namespace is built"
                from gitstore.format.models import build_document

                found = build_document(parts)
                with self._lock:
                    self._built[key] = found
                    if len(self._built) == len(self._keys):  # every namespace built: the plain data is not needed
                        self._data = self._groups = None  # (the evaluator would keep both forms of every flag)
            return found

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def document(self, key: str) -> Document:
        """Namespace `key`, or an empty document of that namespace when the file holds none (an empty file)."""
        if key in self._keys:
            return self[key]
        from gitstore.format.models import empty_document

        return empty_document(key)

    def partial(self, key: str, flags: Collection[str]) -> tuple[Document, dict[str, int]]:
        """Namespace `key` with only the flags named in `flags` (and every segment), built without the others, and
        the place of each in the whole namespace (what its warnings name: `flags[N]`)."""
        parts = self.parts(key) if key in self._keys else None
        if parts is not None:
            from gitstore.format.models import build_document

            with gc_paused():
                keys = (f["key"] for doc in parts for f in doc.get("flags") or ())
                return build_document(parts, flags), _places(keys, flags)
        found = self.document(key)
        kept = tuple(f for f in found.flags if f.key in flags)
        return found.model_copy(update={"flags": kept}), _places((f.key for f in found.flags), flags)


def _places(keys: Iterable[str], wanted: Collection[str]) -> dict[str, int]:
    places: dict[str, int] = {}
    for place, key in enumerate(keys):
        if key in wanted:
            places.setdefault(key, place)
    return places


@dataclass(frozen=True)
class LoadResult:
    """`problems`: errors and warnings, each with file, line and path; `documents`: every namespace of a valid
    file (a YAML stream may hold several; built when asked for), None when any error exists; `chosen`: which of
    them is the file's `document`."""

    problems: list[Problem]
    # Namespaces the file declares, valid or not (document `namespace:`, missing = "default"), each with the index
    # of its first document; None when the file cannot be read or parsed at all.
    claims: dict[str, int] | None = None
    namespaces: Documents | None = None
    chosen: str = "default"

    @property
    def valid(self) -> bool:
        return self.namespaces is not None

    @property
    def document(self) -> Document | None:
        """The file's namespace (None when any error exists)."""
        return self.namespaces.document(self.chosen) if self.namespaces is not None else None

    @property
    def documents(self) -> Mapping[str, Document]:
        return self.namespaces if self.namespaces is not None else {}

    @property
    def data(self) -> list[Any] | None:
        """The file's checked plain documents when it is valid (what a parse cache keeps)."""
        return self.namespaces.data if self.namespaces is not None else None

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity != "error"]


def load_document(data: bytes | str, filename: str, namespace: str | None = None, extended: bool = False,
                  keep_json: bool = False) -> LoadResult:
    """Parse, validate and build the namespace document of one feature file. `namespace` picks which namespace of
    a multi-namespace stream is `document` (default: the one named like the file's directory, else the first).
    `extended` adds Flipt's optional extended rules (every flag needs a description). `keep_json`: keep the
    documents' JSON for a parse cache to write (`Documents.take_json`)."""
    with gc_paused():
        return _load(data, filename, namespace, extended, keep_json)


def _load(data: bytes | str, filename: str, namespace: str | None, extended: bool, keep_json: bool) -> LoadResult:
    try:
        return _load_checked(data, filename, namespace, extended, keep_json)
    except Exception as exc:  # noqa: BLE001 - a file must never take more than its own namespace down
        return LoadResult([Problem(filename, 1, "", f"cannot load the file: {type(exc).__name__}: "
                                         f"{str(exc)[:200]}")])


def _load_checked(data: bytes | str, filename: str, namespace: str | None, extended: bool, keep_json: bool
                  ) -> LoadResult:
    too_big = size_problem(len(data) if isinstance(data, bytes) else len(data.encode("utf-8", "surrogatepass")))
    if too_big:
        return LoadResult([Problem(filename, 1, "", too_big)])
    try:
        text = data if isinstance(data, str) else decode_text(data)
        docs = parse_documents(text, filename)
    except ParseError as exc:
        return LoadResult([Problem(filename, exc.line, "", exc.message)])
    raw = checked_json(docs)  # the fast answer when nothing is beyond the limits; else the walk words it
    beyond = check_data(docs) if raw is None else []
    if beyond:
        return LoadResult(attach_lines(text, filename, [Finding(*item) for item in beyond]))
    claims = namespace_claims(docs)
    groups = _groups(docs)
    findings = check_documents(docs, extended)
    directory = _namespace_directory(filename)
    chosen = _chosen(groups, directory, namespace)
    if directory and chosen != directory and not namespace:
        index = next((i for i, d in enumerate(docs) if isinstance(d, dict) and namespace_key(d) == chosen), 0)
        findings.append(Finding(index, ("namespace",), f"the file is in directory {directory!r} but holds "
                                f"namespace {chosen!r} (a document without 'namespace:' is 'default'); it is served "
                                f"and edited as {chosen!r}", "warning"))
    problems = attach_lines(text, filename, findings) if findings else []
    if any(p.severity == "error" for p in problems):
        return LoadResult(problems, claims)
    return result_from_data(docs, filename, problems, claims, namespace, raw if keep_json else None)


def result_from_data(docs: list[Any] | Callable[[], list[Any]], filename: str, problems: list[Problem],
                     claims: dict[str, int], namespace: str | None = None, json: bytes | None = None
                     ) -> LoadResult:
    """The result of a valid file from its checked plain data (or a function giving it) and its warnings, as
    `load_document` returns it (a parse cache hit, without parsing or checking the file again). The documents
    are built when asked for (`Documents`). `claims`: the file's namespaces, in the order of its documents;
    `json`: the documents as JSON, when the caller has it (`Documents.take_json`)."""
    chosen = _chosen(claims, _namespace_directory(filename), namespace)
    return LoadResult(problems, claims, Documents(claims, docs, json=json), chosen)


def _groups(docs: list[Any]) -> dict[str, list[dict[str, Any]]]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for doc in docs:
        if isinstance(doc, dict):
            groups.setdefault(namespace_key(doc), []).append(doc)
    return groups


def _chosen(groups: Mapping[str, object], directory: str, namespace: str | None) -> str:
    chosen = namespace or (directory if directory in groups or not groups else next(iter(groups)))
    return chosen or "default"


def _namespace_directory(filename: str) -> str:
    path = PurePosixPath(filename.replace("\\", "/"))
    return path.parent.name if path.stem == "features" else ""
