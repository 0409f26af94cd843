"""Handwritten facts of the four default machine models: failure modes and general documents.

The text lives in ``data/<model>.yaml`` (one file per model, read with importlib.resources);
this module holds its shape (frozen dataclasses) and the headings every model shares.

Text may hold two kinds of placeholders, filled per seed by
:mod:`ml_platform_demo.manuals.documents`:

* ``{lo-hi unit}`` a measured value (torque, temperature, clearance...) drawn from the range,
  e.g. ``{45-55 Nm}`` becomes ``50 Nm``;
* ``{pn}`` a part number in the model's numbering scheme.

Everything else is seed-independent, which is what the golden queries rely on: component names,
symptoms, causes and steps never change; only the values, the part numbers and a few lead-in
phrases do (and the daily edits change values or add steps and notes, never remove text).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

# The failure codes of the work orders, with the generic failure mode each one stands for.
FAILURE_MODES: dict[str, str] = {
    "F01": "bearing wear",
    "F02": "motor overheating or winding fault",
    "F03": "seal failure and leakage",
    "F04": "misalignment or imbalance of the drive or spindle",
    "F05": "hydraulic or coolant pressure loss",
    "F06": "sensor fault or calibration drift",
}


@dataclass(frozen=True)
class FailureMode:
    """What one failure code means on one machine model, section by section."""

    code: str
    name: str  # the failure mode as the title names it, e.g. "mechanical seal leak"
    component: str  # the main component concerned (service bulletins refer to it)
    summary: str  # the intro paragraph
    symptoms: tuple[str, ...]
    causes: tuple[str, ...]
    diagnosis: tuple[str, ...]
    procedure: tuple[str, ...]
    safety: tuple[str, ...]
    parts: tuple[str, ...]
    tools: tuple[str, ...]


@dataclass(frozen=True)
class GeneralDoc:
    """A model's general document (preventive maintenance, lockout/tagout, lubrication)."""

    kind: str  # doc_id suffix: "preventive-maintenance", "lockout-tagout", "lubrication"
    title: str  # the title after the model and machine type
    intro: str
    sections: tuple[tuple[str, str, tuple[str, ...]], ...]  # (H2 heading, lead-in, list items)
    numbered: frozenset[str] = frozenset()  # headings whose items are an ordered sequence


@dataclass(frozen=True)
class MachineModel:
    """A machine model with its manuals' facts."""

    model: str  # "PRESS-X"
    machine_type: str  # "hydraulic press"
    part_prefix: str  # part numbers look like "PX-20417-C"
    components: tuple[str, ...]
    safety_base: str  # the safety note every troubleshooting manual of the model starts with
    modes: tuple[FailureMode, ...]
    general: tuple[GeneralDoc, ...]


GENERAL_KINDS: tuple[str, ...] = ("preventive-maintenance", "lockout-tagout", "lubrication")


def general_docs(
    *,
    noun: str,
    pm_intro: str,
    daily: tuple[str, ...],
    weekly: tuple[str, ...],
    monthly: tuple[str, ...],
    annual: tuple[str, ...],
    loto_intro: str,
    energy: tuple[str, ...],
    isolation: tuple[str, ...],
    verification: tuple[str, ...],
    restart: tuple[str, ...],
    lube_intro: str,
    points: tuple[str, ...],
    spec: tuple[str, ...],
    intervals: tuple[str, ...],
    checks: tuple[str, ...],
) -> tuple[GeneralDoc, ...]:
    """A model's three general documents, with the same headings for every model.

    ``noun`` is what the shop floor calls the machine ("lathe", "press"); the lead-in line of
    each section uses it.
    """
    return (
        GeneralDoc(
            "preventive-maintenance",
            "preventive maintenance schedule",
            pm_intro,
            (
                (
                    "Daily checks",
                    f"Every day, at the start of the first shift, check the {noun}:",
                    daily,
                ),
                (
                    "Weekly checks",
                    "Once a week, by the operator or the maintenance technician:",
                    weekly,
                ),
                ("Monthly tasks", "Once a month, by maintenance:", monthly),
                (
                    "Annual service",
                    f"Once a year, during the planned shutdown of the {noun}:",
                    annual,
                ),
            ),
        ),
        GeneralDoc(
            "lockout-tagout",
            "lockout/tagout: isolation and restart",
            loto_intro,
            (
                (
                    "Energy sources",
                    f"Energy and hazards to isolate before working on the {noun}:",
                    energy,
                ),
                ("Isolation sequence", f"Isolate the {noun} in this order:", isolation),
                (
                    "Verification of zero energy",
                    f"Before starting work, prove that the {noun} is safe:",
                    verification,
                ),
                (
                    "Restart and return to service",
                    f"Before the {noun} goes back into production after maintenance:",
                    restart,
                ),
            ),
            numbered=frozenset({"Isolation sequence", "Restart and return to service"}),
        ),
        GeneralDoc(
            "lubrication",
            "lubrication guide",
            lube_intro,
            (
                ("Lubrication points", f"Where the {noun} needs lubricant:", points),
                ("Lubricant specification", "Use only these lubricants and never mix types:", spec),
                ("Intervals and quantities", "How often and how much:", intervals),
                ("Oil condition checks", "Signs that the oil or grease needs attention:", checks),
            ),
        ),
    )


# The default models in library order; each has its facts in data/<model in lower case>.yaml.
DEFAULT_MODEL_NAMES: tuple[str, ...] = ("CNC-A", "CNC-B", "PRESS-X", "PUMP-C")
_ITEM_FIELDS = ("symptoms", "causes", "diagnosis", "procedure", "safety", "parts", "tools")
_GENERAL_LISTS = (
    "daily", "weekly", "monthly", "annual",
    "energy", "isolation", "verification", "restart",
    "points", "spec", "intervals", "checks",
)  # fmt: skip


def _failure_mode(data: dict[str, Any]) -> FailureMode:
    return FailureMode(
        data["code"],
        data["name"],
        data["component"],
        data["summary"],
        **{name: tuple(data[name]) for name in _ITEM_FIELDS},
    )


def _machine_model(data: dict[str, Any]) -> MachineModel:
    general = data["general"]
    return MachineModel(
        data["model"],
        data["machine_type"],
        data["part_prefix"],
        tuple(data["components"]),
        data["safety_base"],
        tuple(_failure_mode(mode) for mode in data["failure_modes"]),
        general_docs(
            noun=general["noun"],
            pm_intro=general["pm_intro"],
            loto_intro=general["loto_intro"],
            lube_intro=general["lube_intro"],
            **{name: tuple(general[name]) for name in _GENERAL_LISTS},
        ),
    )


def load_model(name: str) -> MachineModel:
    """The facts of one default model, read from its YAML file in the package."""
    source = resources.files(__package__).joinpath("data", f"{name.lower()}.yaml")
    return _machine_model(yaml.safe_load(source.read_text(encoding="utf-8")))


@cache
def default_models() -> tuple[MachineModel, ...]:
    """The four default models with their manuals' facts (read once per process)."""
    return tuple(load_model(name) for name in DEFAULT_MODEL_NAMES)
