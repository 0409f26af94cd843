"""Documents of the manuals library and how they render to Markdown.

A :class:`Document` is a title, an optional intro paragraph and a sequence of H2 sections. It
renders section by section, so replacing one section's body changes only that section's bytes:
the daily edits rely on it.

The base library is built from the facts (:mod:`ml_platform_demo.manuals.facts` for the default
models, :mod:`ml_platform_demo.manuals.synthetic` for the extra ones). Values and part numbers
are drawn per document from ``SeedSequence([seed, stream, crc32(doc_id)])``, so a document never
depends on which other documents the library holds.
"""

from __future__ import annotations

import math
import re
import zlib
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np

from ml_platform_demo.manuals.facts import FailureMode, GeneralDoc, MachineModel, default_models
from ml_platform_demo.manuals.synthetic import extra_models

Family = Literal["core", "general", "bulletin"]

# The H2 sections of every core troubleshooting manual, in order.
CORE_SECTIONS: tuple[str, ...] = (
    "Symptoms",
    "Likely causes",
    "Diagnosis",
    "Procedure",
    "Safety notes",
    "Parts and tools",
)
# Units of the measured values; the daily value edits look for exactly these.
UNITS: tuple[str, ...] = (
    "mm/s",
    "l/min",
    "Nm",
    "°C",
    "μm",
    "mm",
    "bar",
    "kg",
    "min",
    "kN",
    "MΩ",
    "rpm",
    "h",
    "g",
    "%",
)
VALUE_PATTERN = re.compile(
    r"(?<![\w.-])(\d+(?:\.\d+)?)( ?)(" + "|".join(re.escape(u) for u in UNITS) + r")(?![\w/])"
)
_PLACEHOLDER = re.compile(r"\{(?:(pn)|(\d+(?:\.\d+)?)-(\d+(?:\.\d+)?)(?: ([^}]+))?)\}")
_STREAM_FACTS, _STREAM_BULLETIN = 11, 12
FIRST_BULLETIN = 101

# Lead-in lines: the wording variant is drawn per document (the facts below it never vary).
_LEADS: dict[str, tuple[str, ...]] = {
    "Symptoms": (
        "Signs reported by operators and technicians:",
        "What operators and technicians usually notice:",
    ),
    "Likely causes": ("Most likely first:", "Check these causes in this order:"),
    "Diagnosis": (
        "Work through these checks before replacing parts:",
        "Confirm the fault with these checks before ordering parts:",
    ),
    "Procedure": (
        "Repair of the {component}, step by step:",
        "Work through these steps in order to repair the {component}:",
    ),
    "Parts and tools": (
        "Have these ready before the machine is stopped for the {name} repair.",
        "Collect these from stores before you start on the {name}.",
    ),
}


def rng_for(seed: int, stream: int, key: int) -> np.random.Generator:
    """A generator seeded like the rest of the demo data: ``SeedSequence([seed, stream, key])``."""
    return np.random.default_rng(np.random.SeedSequence([seed, stream, key]))


def doc_key(doc_id: str) -> int:
    """A stable integer key of a document id (Python's ``hash`` is salted per process)."""
    return zlib.crc32(doc_id.encode())


@dataclass(frozen=True)
class Document:
    """One manual: ``# title``, an optional intro, then ``## section`` blocks."""

    doc_id: str
    family: Family
    model: str  # the machine model it is about
    title: str
    intro: str
    sections: tuple[tuple[str, str], ...]  # (H2 heading, Markdown body)

    @property
    def section_names(self) -> tuple[str, ...]:
        """The H2 headings in order."""
        return tuple(name for name, _ in self.sections)

    def section(self, name: str) -> str:
        """The body of section ``name``."""
        return dict(self.sections)[name]

    def with_section(self, name: str, body: str) -> Document:
        """A copy with section ``name`` replaced by ``body``."""
        if name not in self.section_names:
            raise KeyError(name)
        sections = tuple((n, body if n == name else b) for n, b in self.sections)
        return replace(self, sections=sections)

    def render(self) -> str:
        """The Markdown text: one H1, the intro, the H2 sections, a final newline."""
        blocks = [f"# {self.title}"]
        if self.intro:
            blocks.append(self.intro)
        blocks += [f"## {name}\n\n{body}" for name, body in self.sections]
        return "\n\n".join(blocks) + "\n"


# --- Filling placeholders -----------------------------------------------------------------


class _Filler:
    """Replaces ``{lo-hi unit}`` and ``{pn}`` placeholders with seeded values."""

    def __init__(self, rng: np.random.Generator, part_prefix: str) -> None:
        self._rng = rng
        self._prefix = part_prefix

    def part_number(self) -> str:
        number = int(self._rng.integers(10000, 100000))
        return f"{self._prefix}-{number}-{'ABCDEFGH'[int(self._rng.integers(8))]}"

    def value(self, low: str, high: str, unit: str | None) -> str:
        lo, hi = float(low), float(high)
        decimals = max(len(x.partition(".")[2]) for x in (low, high))
        # Round to a step that suits the range: 45-55 -> 1, 800-1200 -> 10, 0.05-0.1 -> 0.01.
        step = max(10.0**-decimals, 10.0 ** (math.floor(math.log10(hi - lo)) - 1))
        picked = lo + step * int(self._rng.integers(0, round((hi - lo) / step) + 1))
        text = format_number(picked, step)
        if unit is None:
            return text
        return f"{text}{unit}" if unit == "%" else f"{text} {unit}"

    def fill(self, text: str) -> str:
        def one(match: re.Match[str]) -> str:
            if match.group(1):
                return self.part_number()
            return self.value(match.group(2), match.group(3), match.group(4))

        return _PLACEHOLDER.sub(one, text)


def format_number(value: float, step: float) -> str:
    """``value`` with as many decimals as ``step`` has."""
    decimals = max(0, -math.floor(math.log10(step) + 1e-9))
    return f"{value:.{decimals}f}"


# --- Markdown building blocks ---------------------------------------------------------------


def sentence(text: str) -> str:
    """Capitalise the first letter and end with a full stop."""
    text = text.strip()
    return text[:1].upper() + text[1:] + ("" if text.endswith((".", ":", "?")) else ".")


def bullets(items: tuple[str, ...] | list[str]) -> str:
    """A Markdown bullet list."""
    return "\n".join(f"- {sentence(item)}" for item in items)


def numbered(items: tuple[str, ...] | list[str]) -> str:
    """A Markdown numbered list."""
    return "\n".join(f"{i}. {sentence(item)}" for i, item in enumerate(items, start=1))


def _lead(section: str, rng: np.random.Generator) -> str:
    variants = _LEADS[section]
    return variants[int(rng.integers(len(variants)))]


# --- Core, general and bulletin documents ---------------------------------------------------


def core_doc_id(model: str, code: str) -> str:
    """``press-x-f03``: the troubleshooting manual of ``model`` for failure ``code``."""
    return f"{model.lower()}-{code.lower()}"


def general_doc_id(model: str, kind: str) -> str:
    """``pump-c-lubrication``: a general document of ``model``."""
    return f"{model.lower()}-{kind}"


def core_document(machine: MachineModel, mode: FailureMode, seed: int) -> Document:
    """The troubleshooting manual of one (model, failure code)."""
    doc_id = core_doc_id(machine.model, mode.code)
    rng = rng_for(seed, _STREAM_FACTS, doc_key(doc_id))
    fill = _Filler(rng, machine.part_prefix).fill
    parts = [f"{item} (part no. {{pn}})" for item in mode.parts]
    sections = (
        ("Symptoms", f"{_lead('Symptoms', rng)}\n\n{bullets(mode.symptoms)}"),
        ("Likely causes", f"{_lead('Likely causes', rng)}\n\n{numbered(mode.causes)}"),
        ("Diagnosis", f"{_lead('Diagnosis', rng)}\n\n{numbered(mode.diagnosis)}"),
        (
            "Procedure",
            f"{_lead('Procedure', rng).format(component=mode.component)}\n\n"
            f"{numbered(mode.procedure)}",
        ),
        ("Safety notes", bullets((machine.safety_base, *mode.safety))),
        (
            "Parts and tools",
            f"{_lead('Parts and tools', rng).format(name=mode.name)}\n\n"
            f"Parts:\n\n{bullets(parts)}\n\nTools:\n\n{bullets(mode.tools)}",
        ),
    )
    intro = (
        f"{mode.summary} Applies to every {machine.model} {machine.machine_type}; work orders "
        f"record it as failure code {mode.code}."
    )
    return Document(
        doc_id,
        "core",
        machine.model,
        f"{machine.model} {machine.machine_type} — {mode.code} {mode.name}",
        fill(intro),
        tuple((name, fill(body)) for name, body in sections),
    )


def general_document(machine: MachineModel, general: GeneralDoc, seed: int) -> Document:
    """A general document (preventive maintenance, lockout/tagout, lubrication) of a model."""
    doc_id = general_doc_id(machine.model, general.kind)
    fill = _Filler(rng_for(seed, _STREAM_FACTS, doc_key(doc_id)), machine.part_prefix).fill
    sections = tuple(
        (
            name,
            fill(
                (f"{lead}\n\n" if lead else "")
                + (numbered(items) if name in general.numbered else bullets(items))
            ),
        )
        for name, lead, items in general.sections
    )
    return Document(
        doc_id,
        "general",
        machine.model,
        f"{machine.model} {machine.machine_type} — {general.title}",
        fill(general.intro),
        sections,
    )


def all_models(extra: int) -> tuple[MachineModel, ...]:
    """The four default models followed by ``extra`` synthetic ones."""
    return default_models() + extra_models(extra)


def model_documents(machine: MachineModel, seed: int) -> list[Document]:
    """A model's core troubleshooting manuals and its general documents."""
    return [core_document(machine, mode, seed) for mode in machine.modes] + [
        general_document(machine, general, seed) for general in machine.general
    ]


_BULLETIN_TOPICS: tuple[str, ...] = ("superseded part", "inspection", "torque", "firmware")


def bulletin_id(number: int) -> str:
    """``sb-0107``."""
    return f"sb-{number:04d}"


def bulletin_document(number: int, seed: int, models: tuple[MachineModel, ...]) -> Document:
    """Service bulletin ``number``: about one model's component, drawn from its own stream."""
    rng = rng_for(seed, _STREAM_BULLETIN, number)
    machine = models[int(rng.integers(len(models)))]
    mode = machine.modes[int(rng.integers(len(machine.modes)))]
    topic = _BULLETIN_TOPICS[int(rng.integers(len(_BULLETIN_TOPICS)))]
    plant = f"P{int(rng.integers(1, 5))}"
    fill = _Filler(rng, machine.part_prefix).fill
    name, comp = machine.model, mode.component
    manual = core_doc_id(name, mode.code)
    applies = (
        f"Every {name} {machine.machine_type} with a serial number up to {{1000-9000}}, in "
        f"every plant. Machines rebuilt after the bulletin date already "
        f"carry the change. Related manual: {manual}, which stays valid apart from the points "
        "below."
    )
    if topic == "superseded part":
        subject = f"new part number for the {comp}"
        issue = (
            f"The supplier of the {comp} has moved production to a new site. The old part "
            f"number {{pn}} is superseded by {{pn}}. Both parts fit and are interchangeable; "
            "the new part has a longer shelf life and comes in a sealed package with a batch "
            "label."
        )
        action = (
            "Order only the new part number from now on. Use up the old stock first, and "
            "update the spare parts list in the CMMS. Stores will block the old number once "
            "the stock is used up. No change to the repair method is needed."
        )
    elif topic == "inspection":
        subject = f"inspection campaign for the {comp}"
        issue = (
            f"Plant {plant} found a batch of {comp} parts with machining marks outside the "
            "drawing tolerance. Parts from the same delivery may be installed on other "
            "machines. No failure has been reported so far, but the parts may wear faster."
        )
        action = (
            f"At the next planned stop, check the batch label of the {comp}. Replace parts "
            "from the listed batch and send them back to stores with the bulletin number. "
            "Record the check on the work order even when the part is not affected."
        )
    elif topic == "torque":
        subject = f"revised tightening torque for the {comp}"
        issue = (
            f"Fasteners of the {comp} were found loose after repair on several {name} "
            f"machines in plant {plant}. The investigation found the old tightening method "
            "left too little clamping force. The tightening method has been revised."
        )
        action = (
            "Tighten the fasteners to {40-60 Nm} with medium-strength thread locker and "
            "check them again after {24-48 h} of running. Note the torque check on the work "
            "order and mark the fasteners with paint."
        )
    else:
        subject = f"controller software update for the {comp} monitoring"
        issue = (
            f"Software release {{2-5}}.{{0-9}} of the {name} controller can raise false alarms "
            f"for the {comp}. The update corrects the filter of the monitoring signal. Real "
            "faults are still detected; only short spikes are filtered out."
        )
        action = (
            "Install the update during a planned stop, back up the machine parameters first "
            "and test the alarm afterwards. The controls engineer of each plant holds the "
            "update package and signs off the installation."
        )
    sections = (
        ("Applies to", applies),
        ("Issue", issue),
        ("Action required", action),
    )
    return Document(
        bulletin_id(number),
        "bulletin",
        name,
        f"Service bulletin SB-{number:04d} — {name} {subject}",
        "",
        tuple((section, fill(body)) for section, body in sections),
    )


def base_documents(seed: int, extra: int) -> dict[str, Document]:
    """The library on the start day without bulletins: core and general docs of every model."""
    docs: dict[str, Document] = {}
    for machine in all_models(extra):
        for doc in model_documents(machine, seed):
            docs[doc.doc_id] = doc
    return docs


def core_doc_ids(extra_models: int = 0) -> list[str]:
    """The ids of the core troubleshooting manuals (one per model and failure code)."""
    return [
        core_doc_id(machine.model, mode.code)
        for machine in all_models(extra_models)
        for mode in machine.modes
    ]
