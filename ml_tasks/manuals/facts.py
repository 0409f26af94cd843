"""Handwritten facts of the four default machine models: failure modes and general documents.

Text may hold two kinds of placeholders, filled per seed by :mod:`ml_tasks.manuals.documents`:

* ``{lo-hi unit}`` a measured value (torque, temperature, clearance...) drawn from the range,
  e.g. ``{45-55 Nm}`` becomes ``50 Nm``;
* ``{pn}`` a part number in the model's numbering scheme.

Everything else is seed-independent, which is what the golden queries rely on: component names,
symptoms, causes and steps never change; only the values, the part numbers and a few lead-in
phrases do (and the daily edits change values or add steps and notes, never remove text).
"""

from __future__ import annotations

from dataclasses import dataclass

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


# --- CNC-A: vertical machining centre -------------------------------------------------------


_CNC_A_MODES = (
    FailureMode(
        "F01",
        "spindle bearing wear",
        "spindle bearings",
        "Wear or damage of the angular-contact bearings inside the spindle cartridge. Caught "
        "early it is a planned cartridge rebuild; left alone it ends in a seized spindle.",
        symptoms=(
            "a growl or rumble from the spindle nose that rises with spindle speed",
            "chatter marks and a poor surface finish on finishing passes",
            "spindle vibration alarm from the condition monitor at the bearing frequencies",
            "radial play felt at the spindle taper with a dial indicator",
            "noise that started after a spindle crash or a heavy interrupted cut",
        ),
        causes=(
            "lost bearing preload after a tool collision or spindle crash",
            "grease washed out by coolant that got past the spindle nose labyrinth",
            "air purge of the spindle nose switched off or blocked, letting chips and mist in",
            "running at top speed without the spindle warm-up programme",
            "bearings at the end of their rated life (over {16000-20000 h})",
        ),
        diagnosis=(
            "measure runout on a test bar in the taper; above {4-6 μm} points to bearing damage",
            "record vibration velocity on the spindle housing at three speeds and compare with "
            "the baseline in the work order history",
            "turn the spindle by hand with the drawbar released and feel for rough or notchy spots",
            "check the air purge pressure at the spindle nose (at least {0.8-1.2 bar})",
            "run the warm-up programme and log the housing temperature every ten minutes",
        ),
        procedure=(
            "isolate the machine as described in cnc-a-lockout-tagout and park the head at Z home",
            "remove the tool, the spindle cover and the drawbar release cylinder; disconnect "
            "the through-spindle coolant rotary union",
            "attach the cartridge lifting fixture and remove the cartridge retaining bolts",
            "withdraw the spindle cartridge and take it to the rebuild bench; never dismantle "
            "the bearings on the machine",
            "press out the old bearings, clean the housing and fit the new matched bearing set "
            "with the spacers in the marked order",
            "set the preload by tightening the locknut to {60-80 Nm} and check the rolling torque",
            "refit the cartridge and torque the retaining bolts to {45-55 Nm} in a cross pattern",
            "run the break-in programme in speed steps; stop if the housing exceeds {45-50 °C}",
            "measure runout again and record the new vibration baseline in the work order",
        ),
        safety=(
            "the spindle cartridge weighs about {35-45 kg}: lift it only with the fixture and "
            "the hoist",
            "bearings are heated to {100-120 °C} for fitting: use the induction heater and "
            "heat-resistant gloves",
            "keep the tool changer disabled with its key switch until break-in is finished; the "
            "arm can swing when the spindle orients",
        ),
        parts=(
            "spindle bearing set, matched angular-contact pair",
            "spindle nose labyrinth seal",
            "drawbar disc spring pack",
            "high-speed spindle bearing grease, {5-10 g} per bearing",
        ),
        tools=(
            "cartridge lifting fixture and hoist",
            "induction bearing heater",
            "test bar and dial indicator",
            "torque wrench and locknut spanner",
            "portable vibration analyser",
        ),
    ),
    FailureMode(
        "F02",
        "spindle motor overheating",
        "spindle motor",
        "The spindle motor runs above its thermal limit and the drive trips or derates. The "
        "motor winding is damaged if the cause is not removed.",
        symptoms=(
            "spindle motor over-temperature alarm after an hour or more of heavy roughing",
            "the spindle motor housing is too hot to touch at the end of a long cycle",
            "spindle drive derates speed or trips with an overload fault",
            "a burnt varnish smell near the motor terminal box",
            "motor cooling fan noisy or not turning",
        ),
        causes=(
            "blocked motor cooling fins or a failed motor cooling fan",
            "spindle chiller off or low on coolant, so the motor jacket is not cooled",
            "cutting parameters above the continuous rating of the motor for long periods",
            "a winding insulation fault or a phase imbalance from a loose power connection",
            "bearing drag from a failing spindle bearing loading the motor",
        ),
        diagnosis=(
            "read the motor temperature and load history from the drive diagnostics page",
            "check the spindle chiller outlet temperature (should be below {24-28 °C})",
            "measure insulation resistance of the winding with a 500 V tester; below "
            "{50-100 MΩ} means a winding fault",
            "compare the three phase currents at full speed; a difference above {5-8 %} points "
            "to a connection or winding problem",
            "spin the spindle by hand to rule out bearing drag",
        ),
        procedure=(
            "isolate the machine as described in cnc-a-lockout-tagout and let the motor cool",
            "clean the cooling fins and the fan guard with dry compressed air",
            "replace the cooling fan if it does not run freely or its current is off",
            "check the chiller level and filter; top up the chiller coolant",
            "re-torque the motor power terminals to {2.5-3.5 Nm}",
            "if insulation resistance is low, replace the spindle motor and keep the old one "
            "for rewinding",
            "run the spindle at {50-70 %} load for thirty minutes and log the motor temperature",
            "record the temperatures and the insulation reading in the work order",
        ),
        safety=(
            "the motor frame stays hot for {30-45 min} after a long cycle; wait or wear "
            "heat-resistant gloves",
            "the spindle drive DC bus keeps a lethal charge for several minutes; wait for the "
            "bus discharge lamp to go out before opening the drive",
            "insulation testing puts high voltage on the winding: disconnect the drive and warn "
            "others",
        ),
        parts=(
            "spindle motor cooling fan",
            "spindle chiller coolant concentrate",
            "motor terminal lugs and insulation kit",
            "replacement spindle motor (exchange unit)",
        ),
        tools=(
            "insulation resistance tester (500 V)",
            "clamp ammeter",
            "infrared thermometer",
            "torque screwdriver",
        ),
    ),
    FailureMode(
        "F03",
        "through-spindle coolant rotary union leak",
        "coolant rotary union",
        "The rotary union at the back of the spindle feeds high-pressure coolant through the "
        "tool. When its seal faces wear, coolant leaks into the spindle head.",
        symptoms=(
            "coolant dripping from the drain hole at the top of the spindle head",
            "coolant mist or puddles inside the head cover after through-spindle coolant runs",
            "wet drawbar cylinder and a milky residue on the drawbar",
            "coolant pressure drops while the through-spindle coolant is on",
        ),
        causes=(
            "worn rotary union seal faces from running through-spindle coolant without a tool "
            "or with dirty coolant",
            "a clogged drain line of the rotary union",
            "coolant filter bypassed, so fine chips score the seal faces",
            "running dry: the union is spun without coolant for long periods",
        ),
        diagnosis=(
            "run through-spindle coolant with a sealed test holder and watch the drain hole",
            "check the drain line of the union for blockage",
            "check the coolant filter differential pressure and its last change date",
            "look for scoring on the seal face once the union is removed",
        ),
        procedure=(
            "isolate the machine as described in cnc-a-lockout-tagout and release coolant pressure",
            "remove the rear spindle cover and disconnect the coolant hose from the rotary union",
            "unscrew the union from the drawbar using the flats, holding the drawbar against "
            "turning",
            "fit the new rotary union with thread sealant and tighten to {25-35 Nm}",
            "clear the drain line and check that it falls freely to the chip tray",
            "change the fine coolant filter element",
            "run through-spindle coolant at full pressure for ten minutes and check the drain "
            "stays dry",
        ),
        safety=(
            "through-spindle coolant runs at up to {60-70 bar}: release the pressure before "
            "loosening any fitting",
            "coolant causes skin irritation: wear nitrile gloves and eye protection",
            "the floor around the machine gets slippery; put down absorbent before you start",
        ),
        parts=(
            "coolant rotary union, high-pressure version",
            "fine coolant filter element",
            "thread sealant for coolant fittings",
        ),
        tools=(
            "drawbar holding spanner",
            "torque wrench",
            "sealed test holder for coolant checks",
            "absorbent pads and drip tray",
        ),
    ),
    FailureMode(
        "F04",
        "spindle runout and tool holder imbalance",
        "spindle taper and tool holders",
        "Runout at the spindle taper or an unbalanced tool holder makes the tool cut off centre "
        "and shakes the spindle at speed.",
        symptoms=(
            "drilled and bored holes come out oversize or oval",
            "uneven tool wear, one flute of an end mill worn more than the others",
            "vibration that changes with the tool in the spindle rather than with speed",
            "tool holders knocked or marked after tool changes",
        ),
        causes=(
            "chips or dirt on the spindle taper or the holder taper",
            "worn or fretted spindle taper",
            "weak drawbar clamping force from tired disc springs",
            "tool changer arm out of alignment with the spindle, knocking the holder on insertion",
            "unbalanced tool assemblies used above their rated speed",
        ),
        diagnosis=(
            "measure runout on a test bar near the taper and at {250-300 mm}; more than "
            "{5-8 μm} needs action",
            "measure drawbar clamping force with a force gauge (minimum {15-18 kN})",
            "blue the taper of a test holder to check contact over the whole length",
            "check tool changer arm alignment with the alignment gauge in manual mode",
            "balance suspect tool assemblies on the balancing machine",
        ),
        procedure=(
            "isolate the machine as described in cnc-a-lockout-tagout",
            "clean the spindle taper with a taper wiper and inspect it for fretting",
            "if clamping force is low, replace the drawbar disc spring pack",
            "realign the tool changer arm to the spindle with the alignment gauge and lock the "
            "adjusting screws",
            "have a fretted taper reground by the spindle service; do not stone it on the machine",
            "balance tool assemblies to grade G2.5 at their working speed",
            "recheck runout on the test bar and record it in the work order",
        ),
        safety=(
            "disc spring packs are preloaded: release them only in the press tool, never by "
            "unscrewing",
            "keep hands clear of the tool changer arm while it is in manual mode; it moves fast",
            "tool edges are sharp: handle holders with cut-resistant gloves",
        ),
        parts=(
            "drawbar disc spring pack",
            "taper wiper",
            "pull studs for the tool holders",
        ),
        tools=(
            "test bar and dial indicator",
            "drawbar force gauge",
            "tool changer alignment gauge",
            "tool balancing machine",
        ),
    ),
    FailureMode(
        "F05",
        "through-spindle coolant pressure loss",
        "high-pressure coolant pump",
        "The high-pressure coolant pump cannot hold the set pressure, so too little coolant "
        "reaches the tool tip.",
        symptoms=(
            "only a weak trickle of coolant comes out of the tool instead of a jet",
            "coolant pressure alarm during deep drilling cycles",
            "drills break or chips pack in deep holes",
            "the high-pressure coolant pump sounds rough or cycles on and off",
        ),
        causes=(
            "clogged suction strainer or a blocked bag filter",
            "low coolant level in the tank, so the pump draws air",
            "worn high-pressure pump or a leaking pressure relief valve",
            "foaming coolant from the wrong concentration",
        ),
        diagnosis=(
            "read the pump outlet pressure at the gauge with a drill in the spindle; it should "
            "reach {50-70 bar}",
            "check the tank level and the coolant concentration with a refractometer ({6-8 %})",
            "check the filter differential pressure; change the bag above {1.0-1.5 bar}",
            "listen at the pump for cavitation and check the relief valve setting",
        ),
        procedure=(
            "isolate the machine as described in cnc-a-lockout-tagout and release the coolant "
            "pressure",
            "clean the suction strainer and change the bag filter",
            "top up the tank and correct the concentration",
            "check and reset the relief valve to the pressure on the machine plate",
            "if pressure is still low, replace the high-pressure pump cartridge",
            "run a deep-drilling test cycle and record the coolant pressure",
        ),
        safety=(
            "a high-pressure coolant jet can penetrate skin: never hold a hand in front of the "
            "tool to feel the flow",
            "the tank contains bacteria-laden coolant; wear gloves and wash hands afterwards",
        ),
        parts=(
            "high-pressure coolant pump cartridge",
            "coolant bag filter",
            "suction strainer gasket",
            "coolant concentrate",
        ),
        tools=(
            "pressure gauge with quick coupling",
            "refractometer",
            "strainer spanner",
        ),
    ),
    FailureMode(
        "F06",
        "axis encoder and probe calibration drift",
        "spindle probe and thermal compensation sensors",
        "Measured positions drift because a touch probe, an axis scale or a thermal "
        "compensation sensor is out of calibration.",
        symptoms=(
            "part dimensions creep during the first hours of a shift and settle later",
            "the spindle probe reports different datums on the same part",
            "positioning alarms or scale signal errors on one axis",
            "parts measured on the CMM disagree with the in-machine probe",
        ),
        causes=(
            "probe stylus bent or loose after a collision",
            "probe not recalibrated after a stylus change",
            "dirty or damaged linear scale, or a loose scale reading head",
            "failed thermal compensation sensor on the spindle head or column",
        ),
        diagnosis=(
            "run the probe calibration cycle on the ring gauge and compare the results with the "
            "last calibration",
            "check the thermal sensor readings against a contact thermometer",
            "run the axis accuracy check with the ball bar; circularity above {8-12 μm} needs "
            "action",
            "inspect the scale covers and the air purge of the linear scales",
        ),
        procedure=(
            "isolate the machine as described in cnc-a-lockout-tagout before touching scales "
            "or sensors",
            "replace a bent stylus and tighten it with the stylus tool",
            "recalibrate the probe on the ring gauge and the reference sphere",
            "clean the linear scale with alcohol and check the reading head gap",
            "replace any thermal sensor that differs by more than {1-2 °C}",
            "repeat the ball bar test and store the report with the work order",
        ),
        safety=(
            "axis moves during calibration run with the doors closed; use the handwheel in "
            "reduced speed for any open-door check",
            "the probe contains a lithium battery; do not short or heat it",
        ),
        parts=(
            "probe stylus",
            "thermal compensation sensor",
            "scale air purge filter",
        ),
        tools=(
            "ring gauge and reference sphere",
            "ball bar kit",
            "contact thermometer",
            "stylus tool",
        ),
    ),
)

_CNC_A_GENERAL = general_docs(
    noun="machining centre",
    pm_intro="Planned tasks that keep the machining centre accurate and avoid unplanned stops. "
    "Record each task in the CMMS with the machine hours.",
    daily=(
        "check the way lube tank level and the air pressure at the service unit",
        "check the coolant level and the concentration with the refractometer",
        "clean chips from the table, the way covers and the tool changer magazine",
        "run the spindle warm-up programme before the first part of the day",
        "look for coolant or oil leaks under the machine and at the spindle head",
    ),
    weekly=(
        "inspect the way cover wipers and the telescopic covers for damage",
        "clean the spindle taper and the tool changer grippers",
        "drain water from the air service unit and check the lubricator",
        "check the chip conveyor for jams and worn links",
        "skim tramp oil from the coolant tank",
    ),
    monthly=(
        "measure spindle runout on the test bar and record it",
        "clean the electrical cabinet filters and the spindle chiller fins",
        "check the drawbar clamping force with the force gauge",
        "test the door interlocks and the emergency stops",
        "check the tool changer arm alignment in manual mode",
    ),
    annual=(
        "run the ball bar test on all axes and update the backlash compensation",
        "replace the coolant and clean the coolant tank",
        "check the ball screw support bearings and the way lube distributors",
        "check the machine levelling and the anchor bolts",
        "change the tool changer cam box oil",
    ),
    loto_intro="How to put the machining centre into a zero-energy state before maintenance "
    "and how to bring it back. Every person working on the machine applies their own lock.",
    energy=(
        "main electrical supply at the main disconnect, including the spindle drive",
        "compressed air for the tool changer, the drawbar release and the air purge",
        "high-pressure coolant in the through-spindle coolant lines",
        "gravity: the spindle head can drop on the Z axis if the brake fails",
        "stored charge in the spindle and axis drive DC bus",
    ),
    isolation=(
        "stop the programme and bring the spindle to rest",
        "lower the spindle head onto a wooden block or move it to Z home",
        "switch off and lock the main disconnect with your personal lock and tag",
        "close and lock the air supply valve and vent the air lines",
        "release the coolant pressure at the pump valve",
    ),
    verification=(
        "try to start the machine from the control panel; nothing must move",
        "check that the air gauge reads zero and the drawbar cylinder is vented",
        "wait until the spindle drive bus discharge lamp is off",
        "test for absence of voltage at the drive input with a tested voltage tester",
    ),
    restart=(
        "remove tools and rags and refit all guards and covers",
        "check that everyone is clear and remove the locks in reverse order",
        "switch on, reference all axes and run the spindle warm-up",
        "check the tool changer with a dry tool change cycle",
        "cut a test part and have it checked before production",
    ),
    lube_intro="Lubrication points, lubricants and intervals of the machining centre. Wrong "
    "lubricants end up in the coolant and shorten its life.",
    points=(
        "slideways and ball screws of the X, Y and Z axes, fed by the central lube unit",
        "tool changer cam box and the magazine chain",
        "spindle bearings: greased for life, grease only at a cartridge rebuild",
        "chip conveyor drive chain",
        "counterbalance cylinder of the Z axis",
    ),
    spec=(
        "way oil ISO VG 68 with anti-stick-slip additives for the central lube unit",
        "gear oil ISO VG 220 for the tool changer cam box",
        "high-speed spindle bearing grease, only for the cartridge rebuild bench",
        "chain spray for the conveyor and the magazine chain",
    ),
    intervals=(
        "the central lube unit pulses every {15-30 min} of axis motion",
        "top up the way oil tank when it falls below the minimum mark",
        "change the cam box oil every {2000-3000 h}",
        "spray the conveyor and magazine chains monthly",
    ),
    checks=(
        "way oil mixing into the coolant shows as a floating film: skim it and find the source",
        "a lube pressure alarm means a blocked distributor, a broken line or an empty tank",
        "check the tramp oil skimmer on the coolant tank weekly",
        "dry slideways or a squeak on axis moves: check the lube line to that axis",
    ),
)

# --- CNC-B: CNC turning centre (lathe) -------------------------------------------------------

_CNC_B_MODES = (
    FailureMode(
        "F01",
        "main spindle bearing wear",
        "headstock spindle bearings",
        "Wear of the headstock spindle bearings of the lathe. The chuck runs out and turned "
        "diameters lose their roundness.",
        symptoms=(
            "turned parts come out of round or with a lobed profile",
            "a hum or rumble from the headstock that follows spindle speed",
            "chuck face runout higher than at the last check",
            "headstock temperature higher than the other lathes at the same speed",
        ),
        causes=(
            "bearing preload lost after the chuck hit the turret or the tailstock",
            "coolant and chips entering the front labyrinth of the headstock",
            "unbalanced workpieces or fixtures run at high speed",
            "headstock bearings at the end of their life",
        ),
        diagnosis=(
            "measure the spindle nose runout with the chuck removed; above {3-5 μm} is bearing "
            "wear",
            "lift the spindle nose with a bar and read the radial play on a dial indicator",
            "record vibration at the front and rear bearing of the headstock",
            "check the headstock temperature after an hour at {2000-3000 rpm}",
        ),
        procedure=(
            "isolate the lathe as described in cnc-b-lockout-tagout",
            "remove the chuck with the chuck crane and take off the draw tube",
            "remove the spindle encoder and the drive belt",
            "press the spindle out of the headstock towards the front with the extraction tool",
            "fit the new bearing set with the induction heater and set preload with the "
            "locknut to {80-100 Nm}",
            "refit the spindle, belt and encoder; tension the belt to the frequency on the plate",
            "refit the chuck and torque the chuck bolts to {90-110 Nm}",
            "run the headstock break-in and measure the chuck face and diameter runout",
        ),
        safety=(
            "chucks weigh up to {60-80 kg}: always use the chuck crane and the lifting eye",
            "the spindle coasts down slowly after a stop; check it is at rest before opening the "
            "door",
            "bearings come off the heater at over {100-120 °C}",
        ),
        parts=(
            "headstock bearing set",
            "front labyrinth seal",
            "spindle drive belt",
        ),
        tools=(
            "chuck crane and lifting eye",
            "spindle extraction tool",
            "induction bearing heater",
            "dial indicator and magnetic base",
        ),
    ),
    FailureMode(
        "F02",
        "spindle drive motor overheating",
        "spindle drive motor",
        "The lathe's spindle drive motor overheats during heavy turning and the drive trips.",
        symptoms=(
            "spindle overload alarm during long roughing cuts on large bar stock",
            "spindle slows down under heavy cuts before the drive trips",
            "motor fan under the headstock cover is loud or stopped",
            "the spindle motor casing is very hot after heavy turning",
        ),
        causes=(
            "spindle drive belt too tight, loading the motor bearings",
            "motor fan filter clogged with oily dust from the turning area",
            "cutting data beyond the continuous rating of the spindle motor",
            "winding insulation aged by coolant mist entering the motor",
        ),
        diagnosis=(
            "check the load meter during the roughing cycle; above {110-130 %} for minutes "
            "overheats the motor",
            "measure the belt tension frequency and compare with the machine plate",
            "test the winding insulation with a 500 V tester",
            "check the fan and its filter mat",
        ),
        procedure=(
            "isolate the lathe as described in cnc-b-lockout-tagout",
            "replace the motor fan filter mat and clean the fan",
            "set the drive belt tension with the frequency meter",
            "if the winding is damaged, replace the spindle motor",
            "reduce cutting data in the CNC programme to the continuous rating and inform the "
            "programmer",
            "run the roughing programme and log the motor temperature",
        ),
        safety=(
            "the spindle drive stores energy in its DC bus: wait for the charge lamp to go out",
            "the motor casing can be above {70-80 °C} after heavy cuts",
        ),
        parts=(
            "motor fan filter mat",
            "spindle drive belt",
            "spindle motor (exchange unit)",
        ),
        tools=(
            "belt tension frequency meter",
            "insulation resistance tester",
            "infrared thermometer",
        ),
    ),
    FailureMode(
        "F03",
        "hydraulic chuck cylinder seal leak",
        "chuck cylinder",
        "The rotating hydraulic cylinder behind the headstock that actuates the chuck leaks oil "
        "past its seals.",
        symptoms=(
            "hydraulic oil dripping from the back of the headstock behind the chuck cylinder",
            "oil mixed into the coolant and a film on the coolant tank",
            "the hydraulic unit runs more often to hold chuck pressure",
            "oil level in the lathe hydraulic tank falls between checks",
        ),
        causes=(
            "worn rotary seals in the chuck cylinder distributor",
            "hydraulic oil overheated, hardening the seals",
            "contaminated hydraulic oil scoring the cylinder",
            "pressure spikes from a faulty pressure reducing valve",
            "a bent draw tube loading the cylinder unevenly",
        ),
        diagnosis=(
            "clean the area and run the chuck open and closed to find where oil appears",
            "measure the leak-off flow from the cylinder drain line",
            "check the hydraulic oil temperature; above {55-60 °C} ages seals",
            "take an oil sample for particle count",
        ),
        procedure=(
            "isolate the lathe as described in cnc-b-lockout-tagout and bleed the chuck "
            "hydraulic pressure",
            "remove the chuck cylinder guard and disconnect the hydraulic lines",
            "remove the cylinder from the spindle with the draw tube",
            "replace the distributor rotary seals and the piston seals",
            "refit the cylinder and torque its bolts to {35-45 Nm}",
            "refill and bleed the hydraulic system",
            "check clamping pressure and leak-off after an hour of running",
        ),
        safety=(
            "hydraulic lines stay pressurised after the unit stops: bleed the pressure before "
            "opening fittings",
            "hot oil can cause burns; let the system cool",
        ),
        parts=(
            "chuck cylinder seal kit",
            "hydraulic oil HLP 32",
            "hose washers",
        ),
        tools=(
            "chuck cylinder removal tool",
            "torque wrench",
            "oil sample bottle",
        ),
    ),
    FailureMode(
        "F04",
        "turret misalignment and chuck imbalance",
        "tool turret",
        "The turret does not index exactly on the spindle centre line, or an unbalanced chuck "
        "and workpiece shake the spindle.",
        symptoms=(
            "tools cut above or below centre, leaving a pip on the face of parts",
            "turret index position alarm or the turret does not clamp after indexing",
            "shaking of the whole lathe at certain spindle speeds with a new fixture",
            "diameters differ between turret stations",
        ),
        causes=(
            "turret crash against the chuck or the part, shifting the turret",
            "worn curvic coupling of the turret",
            "chuck jaws not balanced or an offset fixture",
            "loose turret clamping from low hydraulic pressure",
        ),
        diagnosis=(
            "check centre height with a test bar in the turret and a dial indicator",
            "check turret clamping pressure at the gauge (about {35-45 bar})",
            "run the spindle balance check with the vibration sensor",
            "inspect the curvic coupling teeth for damage",
        ),
        procedure=(
            "isolate the lathe as described in cnc-b-lockout-tagout",
            "loosen the turret mounting bolts and realign to the centre line with the "
            "alignment bar",
            "tighten the mounting bolts to {120-140 Nm} and recheck alignment",
            "replace a damaged curvic coupling",
            "balance the chuck and fixture with balancing weights",
            "turn a test part on all turret stations and record the results",
        ),
        safety=(
            "the turret can rotate when the hydraulics are on: keep hands out of the turret "
            "area unless the lathe is locked out",
            "the turret and tool discs are heavy; support them when bolts are loose",
        ),
        parts=(
            "curvic coupling set",
            "turret mounting bolts",
            "balancing weights",
        ),
        tools=(
            "turret alignment bar",
            "dial indicator",
            "vibration sensor with balancing software",
        ),
    ),
    FailureMode(
        "F05",
        "chuck clamping pressure loss",
        "lathe hydraulic unit",
        "The hydraulic unit cannot hold the chuck clamping pressure, so the part can slip or be "
        "thrown from the chuck.",
        symptoms=(
            "workpiece slips in the jaws during heavy cuts or leaves jaw marks",
            "chuck clamping pressure alarm stops the spindle",
            "chuck pressure gauge needle falls slowly with the chuck closed",
            "hydraulic unit motor runs continuously",
        ),
        causes=(
            "internal leak in the chuck valve or the pressure reducing valve",
            "worn hydraulic pump of the lathe unit",
            "low oil level or a clogged suction filter",
            "accumulator precharge lost",
            "a leaking rotary distributor at the chuck cylinder letting oil escape to the drain",
        ),
        diagnosis=(
            "close the chuck on a test ring and read the clamping pressure ({25-35 bar} nominal)",
            "watch the pressure drop with the pump stopped",
            "check the accumulator precharge with the charging kit",
            "check the oil level and the suction filter",
        ),
        procedure=(
            "isolate the lathe as described in cnc-b-lockout-tagout and bleed the hydraulic "
            "pressure",
            "clean or change the suction filter and top up the oil",
            "replace the leaking chuck valve cartridge",
            "recharge the accumulator with nitrogen",
            "set the clamping pressure for the jaws and the part",
            "check with the clamping force meter that force is within the chuck maker's limits",
        ),
        safety=(
            "a part thrown from the chuck is lethal: never run the spindle with a clamping "
            "pressure alarm bypassed",
            "accumulators hold pressure after shutdown; discharge them first",
        ),
        parts=(
            "chuck valve cartridge",
            "suction filter",
            "hydraulic oil HLP 32",
        ),
        tools=(
            "clamping force meter",
            "nitrogen charging kit",
            "pressure gauge",
        ),
    ),
    FailureMode(
        "F06",
        "tool setter and turret index sensor drift",
        "tool setter arm",
        "The tool setter arm or the turret index sensors give wrong values, so tool offsets "
        "and turret positions cannot be trusted.",
        symptoms=(
            "tool offsets measured with the setter arm change each time the same tool is measured",
            "first part after a tool change is out of size",
            "turret index sensor fault or turret not confirmed in position",
            "the tool setter arm does not swing fully in or out",
        ),
        causes=(
            "coolant or chips on the tool setter stylus",
            "loose setter arm after being hit by a tool",
            "turret index proximity sensor gap too large",
            "damaged sensor cable in the turret cable chain",
            "worn stylus tip after many thousands of touches",
        ),
        diagnosis=(
            "measure a reference tool five times with the setter; spread above {4-6 μm} is a fault",
            "check the setter arm for play by hand",
            "measure the proximity sensor gap (about {0.8-1.2 mm})",
            "check the sensor signals on the PLC diagnostic page while indexing",
        ),
        procedure=(
            "isolate the lathe as described in cnc-b-lockout-tagout",
            "clean the stylus and tighten the setter arm mounting",
            "recalibrate the tool setter with the calibration tool",
            "reset the proximity sensor gap and tighten the nut",
            "replace a damaged sensor cable",
            "re-measure all tool offsets and cut a test part",
        ),
        safety=(
            "the setter arm swings in automatically in tool-setting mode: keep clear",
            "use the door interlock test key only for sensor checks, never to run a programme",
        ),
        parts=(
            "tool setter stylus",
            "turret index proximity sensor",
            "sensor cable",
        ),
        tools=(
            "tool setter calibration tool",
            "feeler gauge",
            "reference tool",
        ),
    ),
)

_CNC_B_GENERAL = general_docs(
    noun="lathe",
    pm_intro="Planned tasks that keep the lathe accurate and safe. Record each task in the CMMS "
    "with the machine hours.",
    daily=(
        "check the hydraulic oil level and the chuck clamping pressure on the gauge",
        "grease the chuck jaws through the grease nipples",
        "clean chips from the turret, the chuck and the tailstock",
        "check the coolant level and the bar feeder magazine",
        "look for hydraulic oil under the headstock",
    ),
    weekly=(
        "clean the turret tool stations and check the tool clamps",
        "empty the chip conveyor bin and check the conveyor belt",
        "check the tailstock quill for play and grease it",
        "check the lube pressure switch",
    ),
    monthly=(
        "measure the chuck clamping force with the force meter",
        "check spindle and chuck runout",
        "clean the hydraulic unit cooler and the motor fan filter mat",
        "test the door interlock and the emergency stops",
    ),
    annual=(
        "change the hydraulic oil and the filters",
        "check the turret alignment to the spindle centre line",
        "check the X and Z ball screws for backlash",
        "strip and clean the chuck and replace worn jaws",
        "check the spindle drive belt tension",
    ),
    loto_intro="Isolation of the turning centre before maintenance and its restart. Each "
    "person applies their own lock and tag.",
    energy=(
        "main electrical supply at the main disconnect",
        "chuck and tailstock hydraulics, including the accumulator",
        "rotating mass of the spindle, the chuck and the workpiece",
        "bar feeder drive and its pusher",
        "turret indexing motor and turret clamping",
    ),
    isolation=(
        "stop the spindle and wait until it is at rest",
        "unclamp or remove the workpiece",
        "lock the main disconnect with your personal lock and tag",
        "bleed the accumulator and check that the hydraulic gauge reads zero",
        "isolate the bar feeder at its own switch",
    ),
    verification=(
        "press cycle start and try to jog an axis; nothing must move",
        "confirm zero hydraulic pressure at the chuck gauge",
        "check that the turret does not index from the panel",
        "test for absence of voltage at the drive cabinet",
    ),
    restart=(
        "refit the guards and close the door",
        "remove the locks in reverse order once everyone is clear",
        "reference the axes and the turret",
        "clamp a part and verify the clamping pressure before turning",
        "turn a test part and check it before production",
    ),
    lube_intro="Lubrication of the turning centre. The chuck needs the most attention: a dry "
    "chuck loses clamping force.",
    points=(
        "chuck jaws and the chuck wedge hooks",
        "X and Z slideways and ball screws, fed by the central lube unit",
        "tailstock quill and tailstock slideway",
        "turret curvic coupling, greased at the annual service",
    ),
    spec=(
        "special chuck grease with extreme-pressure additives",
        "way oil ISO VG 68 for the central lube unit",
        "hydraulic oil HLP 32 for the chuck and tailstock unit",
        "general lithium grease for the tailstock quill",
    ),
    intervals=(
        "chuck jaws: two strokes of the grease gun per jaw every day",
        "way oil tank: check daily and top up weekly",
        "hydraulic oil: change every {4000-5000 h}",
        "tailstock quill: grease weekly",
    ),
    checks=(
        "hydraulic oil that is dark or smells burnt must be changed",
        "water makes the hydraulic oil milky: find the coolant leak into the unit",
        "check the lube pressure switch and the lube tank filter weekly",
        "chuck grease that comes out grey with fines means the chuck needs cleaning",
    ),
)

# --- PRESS-X: hydraulic press --------------------------------------------------------------

_PRESS_X_MODES = (
    FailureMode(
        "F01",
        "flywheel and main drive bearing wear",
        "flywheel bearings",
        "Wear of the flywheel and main drive shaft bearings of the press. The drive runs rough "
        "and the bearings heat up.",
        symptoms=(
            "vibration alarm on the press drive, strongest at the flywheel",
            "a knocking or rumbling from the flywheel while it runs without a stroke",
            "flywheel bearing housing warmer than usual",
            "grease pushed out of the flywheel bearing seals, dark and burnt",
        ),
        causes=(
            "bearings not properly seated or set with the wrong clearance after a recent bearing "
            "change",
            "missed greasing of the flywheel bearings",
            "belt drive too tight, overloading the bearings",
            "bearings at the end of their rated life",
        ),
        diagnosis=(
            "measure vibration on the flywheel bearing housings; above {4.5-7 mm/s} needs action",
            "measure the bearing housing temperature; more than {20-30 °C} above ambient is "
            "abnormal",
            "check the belt tension",
            "check the grease for metal particles",
        ),
        procedure=(
            "stop the press, wait for the flywheel to stop and isolate as described in "
            "press-x-lockout-tagout",
            "remove the flywheel guard and the drive belts",
            "support the flywheel with the lifting beam",
            "remove the bearing caps and pull the old bearings",
            "fit the new bearings and set the internal clearance to {0.05-0.1 mm}",
            "refit the caps and torque to {180-220 Nm}",
            "refit and tension the belts, refit the guard",
            "run the flywheel for an hour and check vibration and temperature",
        ),
        safety=(
            "the flywheel keeps turning for several minutes after the motor stops: wait for it "
            "to stop completely before removing the guard",
            "the flywheel weighs more than {800-1200 kg}: use the lifting beam and certified "
            "slings",
        ),
        parts=(
            "flywheel bearing set",
            "bearing seals",
            "drive belt set (matched)",
        ),
        tools=(
            "flywheel lifting beam",
            "hydraulic bearing puller",
            "vibration meter",
            "belt tension gauge",
        ),
    ),
    FailureMode(
        "F02",
        "hydraulic pump motor overheating",
        "hydraulic power unit motor",
        "The main motor of the hydraulic power unit runs too hot and its protection trips.",
        symptoms=(
            "the hydraulic power unit motor trips on overload, often on hot afternoons",
            "motor thermistor alarm on the press panel",
            "the motor smells hot and its frame is too hot to touch",
            "press cycle rate drops as the unit derates",
        ),
        causes=(
            "oil cooler blocked or cooling water off, so the oil and motor run hot",
            "relief valve set too high, making the motor work against full pressure",
            "motor fan cover clogged with dust",
            "a failing winding or a lost phase",
        ),
        diagnosis=(
            "measure the motor current and compare with the nameplate",
            "check the oil temperature at the reservoir (limit {55-60 °C})",
            "check the cooling water flow through the oil cooler",
            "test the winding insulation and the thermistor",
        ),
        procedure=(
            "isolate the press as described in press-x-lockout-tagout",
            "clean the motor fan cover and the oil cooler",
            "restore the cooling water flow and clean the water strainer",
            "reset the relief valve to the pressure on the press plate",
            "replace the motor if the winding fails the insulation test",
            "run the press and log motor current and oil temperature for an hour",
        ),
        safety=(
            "the motor and the hydraulic oil can be above {70-80 °C}; wear gloves",
            "the motor starter holds dangerous voltage until the main disconnect is locked",
        ),
        parts=(
            "motor fan cover",
            "oil cooler gasket set",
            "power unit motor (exchange unit)",
        ),
        tools=(
            "clamp ammeter",
            "insulation tester",
            "thermometer",
        ),
    ),
    FailureMode(
        "F03",
        "main cylinder seal leak",
        "main cylinder seals",
        "The seals of the main cylinder that drives the ram leak, letting oil run down the ram "
        "and into the die area.",
        symptoms=(
            "oil running down the ram and dripping onto the die",
            "oil film on the parts and on the bolster",
            "the reservoir level falls between checks",
            "the ram drifts down slowly when stopped at the top",
        ),
        causes=(
            "worn rod seals after many cycles",
            "a scored ram rod from contamination",
            "oil overheating and hardening the seals",
            "side load on the ram from an off-centre die",
            "wrong seal material fitted at a previous repair",
        ),
        diagnosis=(
            "wipe the ram and run a few strokes to locate the leak",
            "measure the ram drift at the top with the pump stopped ({2-5 mm} per minute is a "
            "limit)",
            "inspect the ram rod for scoring",
            "take an oil sample",
        ),
        procedure=(
            "lower the ram onto safety blocks and isolate as described in press-x-lockout-tagout",
            "bleed the hydraulic pressure and drain the accumulator",
            "remove the gland cover of the main cylinder",
            "replace the rod seal, the wiper and the guide rings",
            "polish minor scoring on the rod; a deeply scored rod must be replaced",
            "refit the gland and torque to {250-300 Nm}",
            "refill and bleed, then run slow strokes and check for leaks",
        ),
        safety=(
            "never search for a pinhole leak with your hand: pressurised oil can be injected "
            "under the skin; use a piece of cardboard",
            "oil on the floor makes it slippery; use absorbent",
        ),
        parts=(
            "main cylinder seal kit",
            "wiper ring",
            "hydraulic oil HLP 46",
        ),
        tools=(
            "safety blocks",
            "gland spanner",
            "torque multiplier",
        ),
    ),
    FailureMode(
        "F04",
        "slide misalignment",
        "ram and slide guides",
        "The ram and slide are no longer parallel to the bolster because the slide guides or "
        "gibs are worn or out of adjustment.",
        symptoms=(
            "formed parts thicker on one side than the other",
            "die wear or burrs on one side of the die only",
            "knocking of the slide at the bottom of the stroke",
            "uneven wear marks on the slide gibs",
        ),
        causes=(
            "gib clearance too large after wear",
            "off-centre loading from dies placed away from the press centre",
            "loose bolster or loose gib bolts",
            "worn slide guide liners",
            "a die crash or an overload that shifted the guides",
        ),
        diagnosis=(
            "measure parallelism between ram and bolster at the four corners; more than "
            "{0.05-0.1 mm} needs adjustment",
            "measure gib clearance with feeler gauges ({0.1-0.15 mm} maximum)",
            "check the die centre against the press centre marks",
            "check the bolster bolts",
        ),
        procedure=(
            "lower the slide onto safety blocks and isolate as described in press-x-lockout-tagout",
            "loosen the gib lock bolts",
            "adjust the gibs to the specified clearance, working corner by corner",
            "replace worn guide liners",
            "tighten the gib bolts to {90-110 Nm}",
            "measure parallelism again and run test parts",
        ),
        safety=(
            "always put safety blocks under the slide before you reach into the press; the "
            "hydraulics alone do not hold it",
            "use the die setting mode at low speed for any adjustment stroke",
        ),
        parts=(
            "slide guide liners",
            "gib bolts",
            "shim set",
        ),
        tools=(
            "safety blocks",
            "feeler gauges",
            "dial indicators for parallelism",
        ),
    ),
    FailureMode(
        "F05",
        "hydraulic pressure loss",
        "hydraulic power unit",
        "The hydraulic power unit cannot build the pressure needed for the rated tonnage, so "
        "parts are not formed completely.",
        symptoms=(
            "parts come out only partly formed because the press no longer reaches its set force",
            "slow ram approach and slow pressing speed",
            "pump noise, whining or rattling, from the power unit",
            "pressure gauge fluctuates during pressing",
        ),
        causes=(
            "worn pump with internal leakage",
            "relief valve leaking or set too low",
            "accumulator precharge lost",
            "low oil level or a clogged suction filter",
            "air in the hydraulic oil",
            "a leaking directional valve passing oil back to the tank",
        ),
        diagnosis=(
            "read the system pressure on the gauge during a pressing stroke (nominal "
            "{180-220 bar})",
            "check the accumulator precharge pressure",
            "measure the case drain flow of the pump",
            "check the oil level and look for foam",
        ),
        procedure=(
            "isolate as described in press-x-lockout-tagout and discharge the accumulator",
            "change the suction filter and top up the oil",
            "repair or replace the relief valve and reset it",
            "recharge the accumulator with nitrogen",
            "replace the pump if case drain flow is over the limit",
            "run a tonnage test and record the results",
        ),
        safety=(
            "the accumulator stores energy even when the press is off: discharge it and check "
            "the gauge reads zero",
            "use only nitrogen to charge accumulators, never oxygen or air",
        ),
        parts=(
            "pump (exchange unit)",
            "relief valve cartridge",
            "suction filter",
            "accumulator bladder",
        ),
        tools=(
            "pressure test gauge",
            "nitrogen charging kit",
            "case drain flow meter",
        ),
    ),
    FailureMode(
        "F06",
        "tonnage monitor and ram position sensor drift",
        "tonnage monitor",
        "The tonnage monitor or the ram position transducer drift, so force readings and stroke "
        "positions do not match reality.",
        symptoms=(
            "the tonnage monitor shows a different force on every stroke with the same die",
            "press stops on a tonnage limit alarm that is not real",
            "ram bottom position changes without any adjustment",
            "parts are correct but the monitor shows low force",
        ),
        causes=(
            "strain gauge sensors loose on the frame",
            "tonnage monitor not calibrated after a die change",
            "damaged cable of the position transducer",
            "electrical noise from a new drive nearby",
            "a loose connector at the strain gauge amplifier",
        ),
        diagnosis=(
            "compare the tonnage monitor with the calibration load cells",
            "check the strain gauge mounting bolts",
            "check the transducer signal on the diagnostic page while jogging",
            "check cable shields and grounding",
        ),
        procedure=(
            "isolate the press as described in press-x-lockout-tagout",
            "tighten or replace the strain gauge sensors",
            "recalibrate the tonnage monitor with load cells",
            "replace a damaged transducer cable",
            "re-teach the bottom dead centre position",
            "run test strokes and compare the readings",
        ),
        safety=(
            "calibration strokes run under load: keep everyone outside the light curtain",
            "never bypass the tonnage limit to keep production running",
        ),
        parts=(
            "strain gauge sensor",
            "position transducer cable",
            "calibration certificate",
        ),
        tools=(
            "calibration load cells",
            "multimeter",
            "torque wrench",
        ),
    ),
)

_PRESS_X_GENERAL = general_docs(
    noun="press",
    pm_intro="Planned maintenance of the hydraulic press: safety devices first, then the "
    "hydraulics, the drive and the slide.",
    daily=(
        "check the hydraulic oil level in the reservoir sight glass and the oil temperature",
        "test the light curtain with the test rod and the two-hand control before the first stroke",
        "check the clutch/brake air pressure at the regulator and drain the air filter bowl",
        "look for oil leaks around the ram, the main cylinder gland and the power unit hoses",
        "listen to the flywheel and the pump for new noises",
    ),
    weekly=(
        "grease the flywheel bearings",
        "check the die cushion pressure and stroke",
        "check the accumulator precharge gauge",
        "clean the oil cooler water strainer",
        "inspect the hydraulic hoses for chafing and bulges",
    ),
    monthly=(
        "measure the brake stopping time with the stop-time meter",
        "measure the gib clearance at the four corners",
        "clean the oil cooler and the motor fan covers",
        "check the tonnage monitor zero with the press at rest",
        "test the emergency stops and the guard interlocks",
    ),
    annual=(
        "change the hydraulic oil and the filters and clean the reservoir",
        "inspect the clutch/brake friction linings and measure their thickness",
        "measure ram to bolster parallelism",
        "recalibrate the tonnage monitor with load cells",
        "replace hydraulic hoses older than their service life",
    ),
    loto_intro="How to isolate the hydraulic press before anyone reaches into the die area or "
    "opens the hydraulics. Each person applies their own lock.",
    energy=(
        "main electrical supply to the power unit motor and the controls",
        "hydraulic pressure in the lines and the stored pressure in the accumulator",
        "kinetic energy of the rotating flywheel",
        "gravity: the ram and the upper die can fall if the hydraulics leak down",
        "compressed air for the clutch/brake and the die cushion",
    ),
    isolation=(
        "stop the press with the ram at the top of the stroke",
        "put the safety blocks in place and lower the ram onto them",
        "switch off and lock the main disconnect with your personal lock and tag",
        "wait until the flywheel has stopped turning",
        "open the accumulator discharge valve and watch the gauge fall to zero",
        "close and lock the air valve and vent the clutch/brake and die cushion air",
    ),
    verification=(
        "press the start button and the two-hand control; nothing must move",
        "check that the system pressure gauge and the accumulator gauge read zero",
        "check by eye that the flywheel is at rest",
        "test for absence of voltage at the power unit motor starter",
    ),
    restart=(
        "remove tools, rags and the safety blocks from the die area",
        "refit the guards and check the light curtain alignment",
        "remove the locks in reverse order once everyone is clear",
        "run single strokes in die setting mode and check the stopping time",
        "test the light curtain and the two-hand control before production",
    ),
    lube_intro="Lubrication of the hydraulic press: the flywheel bearings, the slide and the "
    "hydraulic oil.",
    points=(
        "flywheel and main drive shaft bearings, grease nipples behind the flywheel guard",
        "slide gibs and guide liners, fed by the automatic lube pump",
        "clutch/brake shaft splines",
        "die cushion guide pins",
        "hinges of the front guard doors",
    ),
    spec=(
        "lithium complex bearing grease NLGI 2 for the flywheel bearings",
        "slideway oil ISO VG 68 for the gibs and guide liners",
        "hydraulic oil HLP 46 for the power unit",
        "anti-seize paste for the clutch/brake splines",
    ),
    intervals=(
        "flywheel bearings: {3-5} strokes of the grease gun per nipple every week",
        "gib lubrication: check the automatic lube pulses every shift",
        "hydraulic oil: change every {4000-6000 h} or when the oil analysis asks for it",
        "clutch/brake splines: at the annual lining inspection",
    ),
    checks=(
        "take a hydraulic oil sample every quarter for particle count and water content",
        "dark oil, foam or a burnt smell needs action before the next shift",
        "milky oil means water from the oil cooler: check the cooler for leaks",
        "change the return filter when its clogging indicator shows red",
    ),
)

# --- PUMP-C: centrifugal pump -----------------------------------------------------------------

_PUMP_C_MODES = (
    FailureMode(
        "F01",
        "bearing housing bearing wear",
        "pump bearings",
        "Wear of the rolling bearings in the pump bearing housing, the most common reason for "
        "a pump to be taken out of service.",
        symptoms=(
            "grinding, screeching or rumbling noise from the bearing housing",
            "the bearing housing is much warmer than the motor end",
            "vibration alarm on the pump, highest on the bearing housing",
            "the oil in the bearing housing sight glass is dark, milky or low",
        ),
        causes=(
            "oil level too low or the constant level oiler empty",
            "water in the bearing oil from washdown or condensation",
            "coupling misalignment loading the bearings",
            "pump run far from its best efficiency point, overloading the thrust bearing",
            "bearings at the end of their rated life",
        ),
        diagnosis=(
            "measure vibration velocity on the bearing housing; above {4.5-7 mm/s} needs action",
            "measure the bearing housing temperature; above {75-85 °C} is too hot",
            "check the oil level and look for water in the oil",
            "run an envelope spectrum to find the bearing defect frequency",
        ),
        procedure=(
            "stop the pump and isolate as described in pump-c-lockout-tagout, close suction and "
            "discharge valves and drain the casing",
            "remove the coupling guard and the coupling spacer",
            "drain the bearing oil and remove the bearing housing from the pump back plate",
            "pull the bearings with the puller and clean the housing",
            "heat the new bearings to {100-110 °C} and fit them against the shaft shoulder",
            "refit the bearing housing, fill oil to the middle of the sight glass",
            "realign the coupling, refit the guard and run the pump; check vibration and "
            "temperature after an hour",
        ),
        safety=(
            "the bearing housing can be above {70-80 °C} after running; let it cool",
            "a pump handling hot or hazardous liquid must be drained and flushed before the "
            "casing is opened",
        ),
        parts=(
            "bearing set (thrust and radial bearing)",
            "bearing housing lip seals",
            "bearing oil ISO VG 68",
        ),
        tools=(
            "bearing puller",
            "induction bearing heater",
            "vibration meter",
            "laser alignment tool",
        ),
    ),
    FailureMode(
        "F02",
        "motor overheating and winding fault",
        "pump motor",
        "The electric motor that drives the pump runs hot, trips its protection or has a "
        "winding fault.",
        symptoms=(
            "the motor protection relay trips after the pump has run for a while",
            "the motor frame is too hot to hold a hand on",
            "a hum from the motor and slow start-up",
            "burnt smell at the motor terminal box",
        ),
        causes=(
            "pump running at too high flow (discharge valve wide open), overloading the motor",
            "motor cooling fan cover clogged with dirt or packed with fluff",
            "lost phase or a loose terminal connection",
            "winding insulation damaged by moisture",
        ),
        diagnosis=(
            "measure the current on all three phases; compare with the nameplate",
            "check the discharge pressure against the pump curve to find overload",
            "test winding insulation; below {5-20 MΩ} the motor must be dried or rewound",
            "check the terminal connections for heat marks",
        ),
        procedure=(
            "isolate as described in pump-c-lockout-tagout",
            "clean the motor fan cover and the cooling fins",
            "tighten the terminal connections to {2-4 Nm}",
            "throttle the discharge valve to bring the pump back to its duty point",
            "dry or replace the motor if the insulation test fails",
            "run the pump and record the phase currents",
        ),
        safety=(
            "the motor frame can reach {80-90 °C}; do not touch it without gloves",
            "the motor terminal box may be live until the isolator is locked off; test for dead",
        ),
        parts=(
            "terminal box gasket",
            "motor fan cover",
            "replacement motor",
        ),
        tools=(
            "clamp ammeter",
            "insulation resistance tester",
            "infrared thermometer",
        ),
    ),
    FailureMode(
        "F03",
        "mechanical seal leak",
        "mechanical seal",
        "The mechanical seal that closes the gap where the shaft leaves the pump casing lets "
        "liquid escape.",
        symptoms=(
            "liquid weeping, dripping or spraying at the shaft where it enters the pump casing",
            "wet seal gland and a puddle under the pump",
            "crystals or deposits around the seal gland",
            "a squealing sound from the seal area",
        ),
        causes=(
            "the pump ran dry and the seal faces overheated",
            "abrasive solids in the liquid wearing the seal faces",
            "seal flush line blocked",
            "shaft vibration or misalignment opening the seal faces",
        ),
        diagnosis=(
            "count the drips per minute; more than {5-10} drops a minute means replacement",
            "check the seal flush line and its pressure",
            "check the suction for dry running events in the level records",
            "measure shaft runout at the seal chamber ({0.03-0.05 mm} maximum)",
        ),
        procedure=(
            "isolate as described in pump-c-lockout-tagout, close the valves and drain the casing",
            "remove the coupling spacer and the bearing housing assembly (back pull-out)",
            "remove the impeller and the old seal",
            "clean the seal chamber and the shaft sleeve",
            "fit the new cartridge seal; tighten gland nuts evenly to {20-30 Nm}",
            "remove the setting clips after the seal is fixed",
            "refit, fill the pump and vent the seal chamber before start",
        ),
        safety=(
            "liquid under the seal may be hot or chemical; wear face shield and gloves",
            "never run the pump dry to test the seal",
        ),
        parts=(
            "cartridge mechanical seal",
            "O-ring kit",
            "shaft sleeve",
        ),
        tools=(
            "seal setting tool",
            "dial indicator",
            "impeller nut spanner",
        ),
    ),
    FailureMode(
        "F04",
        "coupling misalignment and impeller imbalance",
        "coupling",
        "The pump and motor shafts are not in line, or the impeller is out of balance.",
        symptoms=(
            "vibration high at the coupling, strongest in the axial direction",
            "coupling elements wear out or crack quickly",
            "the pump shakes after the motor was replaced or moved",
            "noise at running speed without load change",
        ),
        causes=(
            "the coupling was not realigned after the motor was replaced",
            "soft foot under the motor or pump feet",
            "pipe strain pulling the casing out of line",
            "impeller damaged or clogged on one side",
        ),
        diagnosis=(
            "measure alignment with the laser tool; offset above {0.05-0.08 mm} needs correction",
            "check for soft foot with a dial indicator",
            "loosen the pipe flanges and watch whether the pump moves",
            "check the vibration phase to tell imbalance from misalignment",
        ),
        procedure=(
            "isolate as described in pump-c-lockout-tagout",
            "remove the coupling guard",
            "correct soft foot with shims",
            "align the motor to the pump with the laser tool in vertical and horizontal",
            "tighten the motor foot bolts to {80-100 Nm} and check again",
            "replace worn coupling elements",
            "clean or balance the impeller if vibration persists",
        ),
        safety=(
            "the coupling guard must be fitted before the pump runs",
            "the laser is class 2; do not look into the beam",
            "turning the shaft by hand for alignment readings can trap fingers in the coupling",
        ),
        parts=(
            "coupling element set",
            "stainless shim kit",
        ),
        tools=(
            "laser alignment tool",
            "dial indicator",
            "feeler gauges",
        ),
    ),
    FailureMode(
        "F05",
        "loss of discharge pressure and cavitation",
        "impeller and wear rings",
        "The pump does not develop its discharge pressure, or it cavitates.",
        symptoms=(
            "discharge pressure and flow lower than normal",
            "noise like gravel rattling in the casing",
            "pressure gauge needle jumps",
            "impeller found with pitted vanes",
            "motor current lower than usual as the flow drops",
        ),
        causes=(
            "not enough suction head (NPSH): low tank level or a blocked suction strainer",
            "worn wear rings or impeller, letting liquid recirculate",
            "air entering through the suction piping",
            "wrong direction of rotation after an electrical repair",
        ),
        diagnosis=(
            "read the suction and discharge pressures and compare with the pump curve",
            "check the suction strainer",
            "measure wear ring clearance (over {0.5-0.8 mm} needs new rings)",
            "check rotation direction",
        ),
        procedure=(
            "isolate as described in pump-c-lockout-tagout and drain the casing",
            "clean the suction strainer",
            "open the casing and replace the wear rings and the impeller if pitted",
            "tighten the impeller nut to {60-80 Nm}",
            "fix air leaks on the suction line",
            "fill, vent and run the pump; compare the readings with the pump curve",
        ),
        safety=(
            "the casing may still be under pressure; check the gauge reads zero",
            "the liquid may be hot; wear a face shield when opening the casing",
            "keep the suction valve locked closed while the casing is open",
        ),
        parts=(
            "wear ring set",
            "impeller",
            "casing gasket",
        ),
        tools=(
            "pressure gauges",
            "feeler gauges",
            "impeller nut spanner",
        ),
    ),
    FailureMode(
        "F06",
        "pressure transmitter and flow meter drift",
        "pressure transmitter",
        "The discharge pressure transmitter or the magnetic flow meter of the pump drifts, so "
        "the control system sees wrong values and may trip or run the pump off its duty point.",
        symptoms=(
            "the control room pressure reading does not match the local gauge at the pump",
            "the flow reading creeps up or down over weeks with no change in the process",
            "false low-pressure or low-flow trips stop the pump",
            "readings freeze at one value or jump to the end of the range",
        ),
        causes=(
            "transmitter zero drift with age or after a pressure surge",
            "impulse line blocked by deposits or frozen in winter",
            "electrodes of the flow meter coated with deposits",
            "water in the transmitter connection head or a damaged signal cable",
        ),
        diagnosis=(
            "compare the transmitter reading with a calibrated test gauge on the test port; "
            "a difference above {1-2 %} of range is drift",
            "check the 4-20 mA loop current with a loop calibrator",
            "blow down the impulse line and see if the reading moves",
            "run the flow meter self-test and read its electrode diagnostics",
        ),
        procedure=(
            "get a work permit from the control room and put the pump loop in manual",
            "isolate as described in pump-c-lockout-tagout where the transmitter cannot be "
            "valved out on its own",
            "close the manifold isolation valve and vent the transmitter",
            "calibrate zero and span with the pressure calibrator and the HART communicator",
            "clean the flow meter electrodes or replace a failed transmitter",
            "open the manifold slowly, compare with the local gauge and return the loop to "
            "automatic",
        ),
        safety=(
            "the impulse line and the manifold hold process pressure; vent them into a "
            "container before disconnecting",
            "tell the control room before you put the loop in manual: a false reading can "
            "start or stop other pumps",
        ),
        parts=(
            "pressure transmitter, same range and wetted materials",
            "two-valve manifold",
            "cable gland and connection head seal",
        ),
        tools=(
            "pressure calibrator",
            "HART communicator",
            "loop calibrator (4-20 mA)",
        ),
    ),
)

_PUMP_C_GENERAL = general_docs(
    noun="pump",
    pm_intro="Planned maintenance of the centrifugal pump: operator rounds, condition "
    "monitoring and the annual shutdown work.",
    daily=(
        "walk round the pump and listen for new noises from the pump and the motor",
        "check the mechanical seal for drips and the base plate for puddles",
        "check the bearing oil level in the sight glass or the constant level oiler",
        "read the suction and discharge pressure gauges and note them on the round sheet",
    ),
    weekly=(
        "measure vibration on the bearing housing and the motor with the handheld meter",
        "measure the bearing housing temperature",
        "check the seal flush flow and the flush line",
        "check that the coupling guard is fitted and complete",
    ),
    monthly=(
        "clean the suction strainer and check its mesh",
        "check the foundation bolts and the base plate grout",
        "test the low-level and dry-run protection",
        "check the motor cooling fan cover for dirt",
    ),
    annual=(
        "check shaft alignment with the laser tool",
        "change the bearing oil and inspect the coupling elements",
        "measure the wear ring clearance at the planned shutdown",
        "calibrate the pressure transmitter and the flow meter",
    ),
    loto_intro="Isolation of the centrifugal pump: the motor, the process liquid and the "
    "pipework. Each person applies their own lock.",
    energy=(
        "electrical supply to the motor at the motor control centre",
        "liquid pressure in the casing and in the suction and discharge pipes",
        "heat and chemical hazards of the pumped liquid",
        "backflow from the discharge line that can turn the pump backwards",
    ),
    isolation=(
        "stop the pump from the local control station",
        "lock off the motor isolator at the motor control centre with your lock and tag",
        "close and lock the discharge valve, then the suction valve",
        "open the casing drain and vent valves into a container",
        "flush the casing if the pumped liquid is hazardous",
    ),
    verification=(
        "try to start the pump at the local station; it must not start",
        "check that the casing pressure gauge reads zero and the drain runs empty",
        "check that the shaft is not turning from backflow",
    ),
    restart=(
        "refit the coupling guard and close the drain and vent valves",
        "open the suction valve fully and vent the casing until liquid comes out",
        "remove the locks in reverse order once everyone is clear",
        "start with the discharge valve partly open, then open it slowly",
        "check the seal, the vibration and the pressures after the start",
    ),
    lube_intro="Lubrication of the centrifugal pump and its motor.",
    points=(
        "radial and thrust bearings in the bearing housing, in an oil bath with a constant "
        "level oiler",
        "motor drive end and non-drive end bearings, through the grease nipples",
        "the flexible coupling needs no lubrication",
    ),
    spec=(
        "bearing oil ISO VG 68 mineral turbine oil",
        "motor bearing grease: lithium complex NLGI 2; never mix grease types",
        "keep lubricants in closed, labelled containers to keep water out",
    ),
    intervals=(
        "bearing oil: change every {4000-8000 h} or at least once a year",
        "top up the constant level oiler when its bottle is half empty",
        "motor bearings: regrease every {2000-4000 h} with {10-20 g} per bearing",
    ),
    checks=(
        "milky bearing oil means water ingress: change it and find the source",
        "dark oil or metal particles on the drain plug magnet: plan a bearing inspection",
        "an overfilled bearing housing makes the bearings run hot",
        "over-greased motor bearings run hot for hours after regreasing",
    ),
)

MODELS: tuple[MachineModel, ...] = (
    MachineModel(
        "CNC-A",
        "vertical machining centre (mill)",
        "CA",
        ("spindle", "tool changer", "ball screws", "coolant pump", "way covers"),
        "lock out the machine as described in cnc-a-lockout-tagout before opening the "
        "enclosure or any cover",
        _CNC_A_MODES,
        _CNC_A_GENERAL,
    ),
    MachineModel(
        "CNC-B",
        "CNC lathe (turning centre)",
        "CB",
        ("spindle and chuck", "turret", "tailstock", "ball screws", "coolant pump", "way covers"),
        "lock out the lathe as described in cnc-b-lockout-tagout before opening the door or "
        "any cover",
        _CNC_B_MODES,
        _CNC_B_GENERAL,
    ),
    MachineModel(
        "PRESS-X",
        "hydraulic press",
        "PX",
        ("ram and slide", "hydraulic power unit", "die cushion", "clutch/brake", "flywheel"),
        "lock out the press as described in press-x-lockout-tagout and block the ram before "
        "reaching into the die area",
        _PRESS_X_MODES,
        _PRESS_X_GENERAL,
    ),
    MachineModel(
        "PUMP-C",
        "centrifugal pump",
        "PC",
        ("impeller", "mechanical seal", "volute casing", "coupling", "bearing housing"),
        "lock out the pump as described in pump-c-lockout-tagout and isolate the suction and "
        "discharge valves",
        _PUMP_C_MODES,
        _PUMP_C_GENERAL,
    ),
)
