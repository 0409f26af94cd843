"""Synthetic extra machine models, so a benchmark can grow the library to hundreds of documents.

Extra model ``i`` is a machine kind (conveyor, compressor, gearbox drive...) taken in turn, named
like ``CONV-D1``: kind prefix, series letter, series number. Names and wording do not depend on
the seed; values and part numbers do (they are filled per document like the default models').
The text comes from templates per failure code, filled with the kind's own components, so the
manuals of different kinds are distinguishable while models of one kind share a wording, as the
manuals of one product family do.
"""

from __future__ import annotations

from dataclasses import dataclass

from ml_platform_demo.manuals.facts import FailureMode, GeneralDoc, MachineModel, general_docs

MAX_EXTRA_MODELS = 500


@dataclass(frozen=True)
class _Kind:
    prefix: str
    machine_type: str
    bearing: str  # the main bearing location (F01)
    motor: str  # the drive motor (F02)
    seal: str  # the sealed component (F03)
    drive: str  # the coupling, belt or shaft that can be misaligned (F04)
    circuit: str  # the hydraulic, lube or coolant circuit whose pressure can drop (F05)
    sensor: str  # the instrument that drifts (F06)
    hazard: str  # the kind's particular hazard, in the safety notes
    daily: tuple[str, ...]  # daily checks
    lube_points: tuple[str, ...]


_KINDS: tuple[_Kind, ...] = (
    _Kind(
        "CONV",
        "belt conveyor",
        "drive pulley bearings",
        "conveyor gear motor",
        "gear motor shaft seal",
        "drive chain and sprockets",
        "hydraulic take-up",
        "belt speed sensor",
        "the belt can pull hands and sleeves into the pulleys and the take-up stores tension",
        ("check belt tracking at the tail pulley", "listen for noisy idlers"),
        ("drive pulley bearings", "tail pulley bearings", "gear motor"),
    ),
    _Kind(
        "COMP",
        "screw air compressor",
        "airend bearings",
        "compressor main motor",
        "airend shaft seal",
        "motor to airend coupling",
        "oil injection circuit",
        "discharge temperature sensor",
        "the oil separator tank stays pressurised and the oil is hot after shutdown",
        ("read the discharge pressure and temperature", "drain the condensate trap"),
        ("airend oil circuit", "motor bearings"),
    ),
    _Kind(
        "GEAR",
        "gearbox drive",
        "output shaft bearings",
        "gearbox input motor",
        "output shaft lip seal",
        "input coupling",
        "forced lubrication circuit",
        "oil temperature sensor",
        "the shafts can turn back under load from the driven machine",
        ("check the oil level in the sight glass", "feel the housing temperature"),
        ("gear oil sump", "input coupling grease", "motor bearings"),
    ),
    _Kind(
        "MIX",
        "industrial mixer",
        "agitator shaft bearings",
        "agitator drive motor",
        "tank entry seal of the agitator shaft",
        "agitator shaft and gearbox coupling",
        "seal barrier fluid circuit",
        "torque monitoring sensor",
        "the agitator can start while someone is inside the tank unless the drive is locked",
        ("check the barrier fluid level", "look for product at the tank entry seal"),
        ("agitator gearbox", "shaft bearings", "motor bearings"),
    ),
    _Kind(
        "FAN",
        "industrial fan",
        "fan shaft bearings",
        "fan motor",
        "shaft seal at the fan casing",
        "V-belt drive",
        "bearing lubrication oil circuit",
        "vibration transmitter",
        "the fan wheel keeps turning in the draught even when the motor is locked off",
        ("listen to the fan bearings", "check the belt guard"),
        ("fan shaft bearings", "motor bearings"),
    ),
    _Kind(
        "CHIL",
        "process chiller",
        "circulation pump bearings",
        "refrigerant compressor motor",
        "circulation pump seal",
        "circulation pump coupling",
        "chilled water circuit",
        "refrigerant pressure transducer",
        "refrigerant under pressure can cause frostbite and the compressor stays hot",
        ("read the chilled water temperatures", "check the condenser for dirt"),
        ("compressor oil", "pump bearings"),
    ),
    _Kind(
        "EXTR",
        "plastics extruder",
        "screw thrust bearing",
        "extruder main motor",
        "gearbox output seal",
        "motor to gearbox coupling",
        "barrel cooling water circuit",
        "melt pressure transducer",
        "the barrel and die run at several hundred degrees and melt can spurt out under pressure",
        ("check the barrel heater zones", "check the melt pressure reading"),
        ("thrust bearing oil", "gearbox oil"),
    ),
    _Kind(
        "GRND",
        "surface grinder",
        "wheel spindle bearings",
        "wheel spindle motor",
        "table cylinder seal",
        "wheel spindle and wheel flange",
        "table hydraulic circuit",
        "wheel head position sensor",
        "a grinding wheel can burst if it is cracked or run above its rated speed",
        ("ring-test new wheels before fitting", "check the coolant filter"),
        ("wheel spindle", "table ways", "hydraulic tank"),
    ),
)


def _modes(k: _Kind, lockout: str) -> tuple[FailureMode, ...]:
    """The six failure modes of a kind, from templates filled with the kind's components."""
    iso = f"isolate the {k.machine_type} as described in {lockout}"
    done = "record the readings and the parts used in the work order"
    return (
        FailureMode(
            "F01",
            f"{k.bearing} wear",
            k.bearing,
            f"Wear of the {k.bearing} of the {k.machine_type}. Found early it is a planned "
            "bearing change; found late it ends in a seized shaft.",
            symptoms=(
                f"rumbling or grinding noise from the {k.bearing}",
                f"vibration alarm on the {k.machine_type}, highest at the bearing housing",
                f"the {k.bearing} housing runs warmer than usual",
                "dark grease with metal particles pushed out of the seals",
            ),
            causes=(
                f"missed greasing of the {k.bearing}",
                "dirt and water entering through worn seals",
                f"overload or misalignment of the {k.drive}",
                "bearings at the end of their rated life (over {20000-30000 h})",
            ),
            diagnosis=(
                "measure vibration on the bearing housing; above {4.5-7 mm/s} needs action",
                "measure the housing temperature with an infrared thermometer and compare it "
                "with the other bearings",
                "check the grease for metal particles",
                "listen to the bearing with a stethoscope at low and full speed",
            ),
            procedure=(
                iso,
                "remove the guards and support the shaft",
                "pull the old bearings and clean the housing",
                "heat the new bearings to {100-110 °C} and fit them against the shoulder",
                "tighten the housing bolts to {60-90 Nm}",
                "grease the bearings with the quantity on the lubrication chart",
                f"run the {k.machine_type} and check vibration and temperature after an hour",
                done,
            ),
            safety=(
                "bearings from the heater are hot; wear heat-resistant gloves",
                "support the shaft before the housing bolts are loosened",
            ),
            parts=(f"{k.bearing} set", "housing seals", "bearing grease NLGI 2"),
            tools=("bearing puller", "induction heater", "vibration meter", "stethoscope"),
        ),
        FailureMode(
            "F02",
            f"{k.motor} overheating",
            k.motor,
            f"The {k.motor} runs above its thermal limit and its protection trips.",
            symptoms=(
                f"the {k.motor} trips on overload after running for a while",
                "the motor frame is too hot to touch",
                "burnt smell at the terminal box",
                "the motor fan is noisy or does not turn",
            ),
            causes=(
                "blocked cooling fins or a clogged fan cover",
                f"overload from the driven {k.machine_type}",
                "a loose terminal or a lost phase",
                "winding insulation aged by heat or moisture",
            ),
            diagnosis=(
                "measure the phase currents and compare them with the nameplate",
                "test the winding insulation with a 500 V tester",
                "check the terminals for heat marks",
                "check the fan and the cooling air path",
            ),
            procedure=(
                iso,
                "clean the fan cover and the cooling fins",
                "tighten the terminals to {2-4 Nm}",
                "replace the motor if the insulation test fails",
                "run the motor for an hour and record the currents and the frame temperature",
            ),
            safety=(
                "the motor frame can be above {70-90 °C}",
                "test for absence of voltage before opening the terminal box",
            ),
            parts=("motor fan cover", "terminal kit", "exchange motor"),
            tools=("clamp ammeter", "insulation tester", "infrared thermometer"),
        ),
        FailureMode(
            "F03",
            f"{k.seal} leak",
            k.seal,
            f"The {k.seal} leaks and the fluid it holds back escapes.",
            symptoms=(
                f"fluid weeping or dripping at the {k.seal}",
                "puddles or residue under the machine",
                "the fluid level falls between checks",
                "dirt sticking to an oily film around the seal",
            ),
            causes=(
                "worn or hardened seal lips",
                "a scored or grooved shaft surface under the seal",
                "an overheated seal after a lubrication failure",
                "shaft vibration opening the seal",
            ),
            diagnosis=(
                "clean the area and run the machine to locate the leak",
                "check the shaft under the seal for grooves",
                "check the breather: a blocked breather pressurises the seal",
            ),
            procedure=(
                iso,
                "drain the fluid below the seal level",
                "remove the old seal without scoring the shaft",
                "fit the new seal with the fitting tool, lip towards the fluid",
                "refill, run and check for leaks",
                done,
            ),
            safety=(
                "the fluid may be hot or under pressure",
                "clean up spills at once; an oily floor is slippery",
            ),
            parts=("seal kit", "O-rings", "shaft repair sleeve"),
            tools=("seal fitting tool", "seal puller", "absorbent pads"),
        ),
        FailureMode(
            "F04",
            f"{k.drive} misalignment",
            k.drive,
            f"The {k.drive} is out of alignment or out of balance.",
            symptoms=(
                "vibration at running speed, highest in the axial direction",
                f"fast wear of the {k.drive}",
                "noise that started after a motor change or a repair",
                "loose or cracked mounting bolts",
            ),
            causes=(
                "not realigned after a repair",
                "soft foot under the motor",
                "loose mounting bolts",
                "pipe or frame strain pulling the machine out of line",
            ),
            diagnosis=(
                "measure alignment with the laser tool; offset above {0.05-0.1 mm} needs work",
                "check for soft foot with a dial indicator",
                "check the vibration phase to tell imbalance from misalignment",
            ),
            procedure=(
                iso,
                "remove the guard",
                "correct soft foot with shims",
                "align with the laser tool in both planes",
                "tighten the foot bolts to {80-120 Nm}",
                "refit the guard and run",
                done,
            ),
            safety=(
                "fit the guard before running",
                "do not look into the alignment laser beam",
            ),
            parts=("shim kit", "coupling elements", "foot bolts"),
            tools=("laser alignment tool", "feeler gauges", "dial indicator"),
        ),
        FailureMode(
            "F05",
            f"{k.circuit} pressure loss",
            k.circuit,
            f"The {k.circuit} cannot hold its pressure.",
            symptoms=(
                f"low pressure alarm of the {k.circuit}",
                "the pressure gauge needle falls or fluctuates",
                "the pump of the circuit is noisy",
                "the machine slows down or stops on a protection",
            ),
            causes=(
                "a clogged filter",
                "an internal leak in a valve",
                "low fluid level",
                "a worn pump",
            ),
            diagnosis=(
                "read the circuit pressure (nominal {3-8 bar})",
                "check the filter differential pressure",
                "check the fluid level and look for foam",
            ),
            procedure=(
                iso,
                "release the pressure",
                "change the filter and top up",
                "repair the leaking valve",
                "replace the pump if the pressure is still low",
                "run and record the pressure",
            ),
            safety=(
                "release stored pressure before opening the circuit",
                "fluid jets from pinhole leaks can injure skin",
            ),
            parts=("filter element", "valve cartridge", "pump (exchange unit)"),
            tools=("pressure gauge", "filter spanner"),
        ),
        FailureMode(
            "F06",
            f"{k.sensor} drift",
            k.sensor,
            f"The {k.sensor} reads wrong values and triggers false alarms.",
            symptoms=(
                "the reading jumps or drifts",
                "false alarms stop the machine",
                "the reading differs from a test instrument",
                "the signal drops out when the cable moves",
            ),
            causes=(
                "sensor drift with age",
                "a damaged cable",
                "a loose sensor mounting",
                "electrical noise from a nearby drive",
            ),
            diagnosis=(
                "compare the reading with a calibrated instrument",
                "check the cable and the connector",
                "check the signal on the controller diagnostic page",
            ),
            procedure=(
                iso,
                "tighten the sensor mounting",
                "recalibrate the sensor",
                "replace a damaged cable",
                "test the alarm",
                done,
            ),
            safety=(
                "test alarms with the machine in a safe state",
                "never bypass a protection to keep production running",
            ),
            parts=(k.sensor, "sensor cable", "connector"),
            tools=("calibrator", "multimeter"),
        ),
    )


def _general(k: _Kind) -> tuple[GeneralDoc, ...]:
    """The kind's preventive maintenance, lockout/tagout and lubrication documents."""
    noun = k.machine_type
    return general_docs(
        noun=noun,
        pm_intro=f"Planned maintenance of the {noun}. Record each task in the CMMS.",
        daily=(
            *k.daily,
            "look for leaks under the machine",
            "listen for new noises from the motor and the bearings",
            "check that the guards are fitted",
        ),
        weekly=(
            f"check the {k.drive} and its guard",
            f"check the {k.circuit} pressure and filter indicator",
            "clean the motor fan cover",
        ),
        monthly=(
            f"measure vibration on the {k.bearing} housing",
            "test the emergency stops and the guard interlocks",
            f"compare the {k.sensor} with a test instrument",
        ),
        annual=(
            "change the oil and the filters",
            f"check the alignment of the {k.drive}",
            f"inspect the {k.seal} and replace it if worn",
            "check the foundation bolts",
        ),
        loto_intro=f"Isolation of the {noun} before maintenance and its restart.",
        energy=(f"electrical supply to the {k.motor}", k.hazard, f"pressure in the {k.circuit}"),
        isolation=(
            f"stop the {noun} from the local control station",
            "lock the main isolator with your personal lock and tag",
            f"release the pressure in the {k.circuit}",
            "release or block any other stored energy",
        ),
        verification=(
            "try to start the machine; nothing must move",
            "check that the pressure gauges read zero",
            "test for absence of voltage",
        ),
        restart=(
            "refit all guards",
            "remove the locks in reverse order once everyone is clear",
            "run the machine and check for leaks, noise and vibration",
        ),
        lube_intro=f"Lubrication of the {noun}.",
        points=(*k.lube_points, "guard hinges and door locks"),
        spec=(
            "bearing grease NLGI 2 for grease points",
            "gear oil ISO VG 220 for gearboxes",
            "hydraulic oil HLP 46 for hydraulic circuits",
        ),
        intervals=(
            "grease the bearings every {500-1000 h}",
            "change the gear oil every {4000-8000 h}",
            "check the oil levels weekly",
        ),
        checks=(
            "milky oil means water",
            "dark oil or metal particles need a bearing check",
            "foam in the oil points to air ingress",
        ),
    )


def extra_model_name(i: int) -> str:
    """``CONV-D1``: kind in turn, then the series letter, then the series number."""
    letters = "DEFGHJKLMNPQRSTUVWXYZ"
    kind = _KINDS[i % len(_KINDS)]
    series = i // len(_KINDS)
    return f"{kind.prefix}-{letters[series % len(letters)]}{series // len(letters) + 1}"


def extra_models(count: int) -> tuple[MachineModel, ...]:
    """The first ``count`` synthetic machine models."""
    if not 0 <= count <= MAX_EXTRA_MODELS:
        raise ValueError(f"extra_models must be between 0 and {MAX_EXTRA_MODELS}, got {count}")
    models = []
    for i in range(count):
        kind = _KINDS[i % len(_KINDS)]
        name = extra_model_name(i)
        lockout = f"{name.lower()}-lockout-tagout"
        models.append(
            MachineModel(
                name,
                kind.machine_type,
                name.replace("-", ""),
                (kind.bearing, kind.motor, kind.seal, kind.drive, kind.circuit, kind.sensor),
                f"lock out the {kind.machine_type} as described in {lockout}: {kind.hazard}",
                _modes(kind, lockout),
                _general(kind),
            )
        )
    return tuple(models)
