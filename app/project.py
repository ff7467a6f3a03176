"""The .lumigrade project file: the source, the Grade, saved versions of it and the compare
setup, as versioned JSON.

The Grade parts are the Grade's own JSON (engine.grade), validated by the engine; the rest is
validated here with the same strictness: unknown keys, wrong types and out-of-range values
raise GradeError naming the file. The file is written atomically (engine.io.atomic).

Schema history: 1 holds source, frame, grade and compare; 2 adds "versions" (named grades,
app.versions) and "sides" (what compare A and B show). A schema 1 file loads with no versions,
A on the source and B on the current grade.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.versions import CURRENT, SIDE_LABELS, SOURCE, CompareSides, GradeVersion
from app.viewer.view_state import VIEW_PARAMS, CompareMode, DisplayView, MaskView, ViewSettings
from engine.errors import OutputError
from engine.grade import Grade, JsonValidator, parse_json, read_text
from engine.io.atomic import AtomicOutput

PROJECT_SCHEMA_VERSION = 2
PROJECT_SUFFIX = ".lumigrade"
MAX_VERSIONS = 1000


@dataclass(frozen=True)
class Project:
    """What a session saves: where the footage is, how it is graded and how it is compared."""

    source: Path | None = None
    grade: Grade = field(default_factory=Grade)
    view: ViewSettings = field(default_factory=ViewSettings)
    frame: int = 0
    versions: tuple[GradeVersion, ...] = ()
    sides: CompareSides = field(default_factory=CompareSides)

    def to_dict(self, location: Path | None = None) -> dict[str, Any]:
        view = self.view
        return {
            "lumigrade_project": PROJECT_SCHEMA_VERSION,
            "source": None if self.source is None else _portable_path(self.source, location),
            "frame": self.frame,
            "grade": self.grade.to_dict(),
            "versions": [{"name": v.name, "grade": v.grade.to_dict()} for v in self.versions],
            "sides": {"a": self.sides.a, "b": self.sides.b},
            "compare": {
                "mode": view.compare.name.lower(),
                "view": view.view.value,
                "exposure": view.exposure,
                "split": view.split,
                "wipe_angle": view.wipe_angle,
                "ratio_stops": view.ratio_stops,
                "false_colour": view.false_colour,
                "mask": view.mask.name.lower(),
                "mask_opacity": view.mask_opacity,
            },
        }

    def to_json(self, location: Path | None = None) -> str:
        return json.dumps(self.to_dict(location), indent=2, sort_keys=True)

    def save(self, path: str | Path) -> Path:
        """Write atomically: a failed save leaves the previous file untouched."""
        path = Path(path)
        text = self.to_json(path)
        with AtomicOutput(path) as temp:
            try:
                temp.write_text(text, encoding="utf-8")
            except OSError as exc:
                raise OutputError(f"cannot write the project ({exc.strerror})", path) from None
        return path

    @classmethod
    def from_json(cls, text: str, path: Path | None = None) -> Project:
        return _ProjectParser(path).project(parse_json(text, path))

    @classmethod
    def load(cls, path: str | Path) -> Project:
        path = Path(path)
        return cls.from_json(read_text(path, "project file"), path)


def _portable_path(source: Path, location: Path | None) -> str:
    """Relative to the project's folder when the footage sits below it, so folders can move."""
    source = source.absolute()
    if location is not None:
        try:
            return source.relative_to(location.absolute().parent).as_posix()
        except ValueError:
            pass
    return str(source)


class _ProjectParser(JsonValidator):
    """Strict validation of .lumigrade project JSON (the Grade inside goes to Grade.from_dict)."""

    def enum(self, value: Any, key: str, names: dict[str, Any]) -> Any:
        if not isinstance(value, str) or value not in names:  # a list or an object is unhashable
            raise self.fail(f"compare.{key}: {value!r} is not one of {', '.join(names)}")
        return names[value]

    def number(self, value: Any, key: str) -> float:
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise self.fail(f"compare.{key}: expected a number, got {value!r}")
        lo, hi = VIEW_PARAMS[key].minimum, VIEW_PARAMS[key].maximum
        if not lo <= value <= hi:  # also rejects NaN
            raise self.fail(f"compare.{key}: {value} is outside [{lo}, {hi}]")
        return float(value)

    def project(self, data: Any) -> Project:
        if not isinstance(data, dict):
            raise self.fail("project: expected an object")
        version = data.get("lumigrade_project")
        if not isinstance(version, int) or isinstance(version, bool):
            raise self.fail("not a Lumigrade project (missing 'lumigrade_project' version)")
        if not 1 <= version <= PROJECT_SCHEMA_VERSION:
            raise self.fail(
                f"project schema version {version} is not supported (max {PROJECT_SCHEMA_VERSION})"
            )
        keys = {"lumigrade_project", "source", "frame", "grade", "compare"}
        data = self.mapping(data, "project", keys | ({"versions", "sides"} if version >= 2 else set()))
        source = data.get("source")
        if source is not None and not isinstance(source, str):
            raise self.fail("source: expected a path string or null")
        frame = data.get("frame", 0)
        if not isinstance(frame, int) or isinstance(frame, bool) or frame < 0:
            raise self.fail(f"frame: expected a frame number, got {frame!r}")
        source_path = None if source is None else self.source(source)
        versions = self.versions(data.get("versions", []))
        return Project(
            source=source_path,
            grade=Grade.from_dict(data.get("grade", Grade().to_dict()), self.path),
            view=self.view(data.get("compare", {})),
            frame=frame,
            versions=versions,
            sides=self.sides(data.get("sides", {}), versions),
        )

    def source(self, source: str) -> Path:
        """The footage: an absolute path as given, or a relative one (what save() writes for
        footage below the project) that must stay inside the project's folder."""
        if "\x00" in source or not source.strip():
            raise self.fail(f"source: {source[:80]!r} is not a path")
        path = Path(source)
        if path.is_absolute() or self.path is None:
            return path
        folder = self.path.absolute().parent
        if ".." in path.parts and not (folder / path).resolve().is_relative_to(folder.resolve()):
            raise self.fail(f"source: {source[:80]!r} leads outside the project's folder "
                            "(a project names such footage by its absolute path)")
        return folder / path

    def versions(self, value: Any) -> tuple[GradeVersion, ...]:
        if not isinstance(value, list):
            raise self.fail("versions: expected a list")
        if len(value) > MAX_VERSIONS:
            raise self.fail(f"versions: {len(value)} versions, more than {MAX_VERSIONS}")
        versions: list[GradeVersion] = []
        for number, item in enumerate(value):
            item = self.mapping(item, f"versions[{number}]", {"name", "grade"})
            name = item.get("name")
            if not isinstance(name, str) or not name.strip() or name in SIDE_LABELS:
                raise self.fail(f"versions[{number}].name: expected a name, got {name!r}")
            if any(v.name == name for v in versions):
                raise self.fail(f"versions[{number}].name: {name!r} is used twice")
            if "grade" not in item:
                raise self.fail(f"versions[{number}]: missing 'grade'")
            versions.append(GradeVersion(name, Grade.from_dict(item["grade"], self.path)))
        return tuple(versions)

    def sides(self, value: Any, versions: tuple[GradeVersion, ...]) -> CompareSides:
        data = self.mapping(value, "sides", {"a", "b"})
        allowed = [SOURCE, CURRENT, *(v.name for v in versions)]
        for key in data:
            if data[key] not in allowed:
                raise self.fail(f"sides.{key}: {data[key]!r} is not one of {', '.join(allowed)}")
        return CompareSides(data.get("a", SOURCE), data.get("b", CURRENT))

    def view(self, value: Any) -> ViewSettings:
        numbers = set(VIEW_PARAMS)
        data = self.mapping(value, "compare", numbers | {"mode", "view", "false_colour", "mask"})
        default = ViewSettings()
        changes: dict[str, Any] = {k: self.number(data[k], k) for k in numbers if k in data}
        if "mode" in data:
            changes["compare"] = self.enum(data["mode"], "mode", {m.name.lower(): m for m in CompareMode})
        if "view" in data:
            changes["view"] = self.enum(data["view"], "view", {v.value: v for v in DisplayView})
        if "mask" in data:
            changes["mask"] = self.enum(data["mask"], "mask", {m.name.lower(): m for m in MaskView})
        if "false_colour" in data:
            if not isinstance(data["false_colour"], bool):
                raise self.fail("compare.false_colour: expected true or false")
            changes["false_colour"] = data["false_colour"]
        return default.replace(**changes)
