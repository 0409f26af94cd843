"""What the landing files promise: sensors and their contract ranges, fault kinds, fleet
vocabulary (plants, models, failure codes, components) and the fictional technicians."""

from __future__ import annotations

SENSORS: tuple[str, ...] = (
    "temperature_c",
    "vibration_mm_s",
    "pressure_bar",
    "rotation_rpm",
    "power_kw",
)
SENSOR_RANGES: dict[str, tuple[float, float]] = {
    "temperature_c": (-20.0, 150.0),
    "vibration_mm_s": (0.0, 50.0),
    "pressure_bar": (0.0, 25.0),
    "rotation_rpm": (0.0, 6000.0),
    "power_kw": (0.0, 500.0),
}
TELEMETRY_FAULT_KINDS: tuple[str, ...] = (
    "malformed",
    "wrong_type",
    "null_key",
    "out_of_range",
    "unknown_machine",
    "bad_timestamp",
    "duplicate",
    "late",
)
WORK_ORDER_FAULT_KINDS: tuple[str, ...] = ("malformed", "unknown_op", "out_of_order")
# Fault kinds whose lines are valid records (the ELT dedups, routes or reorders them).
VALID_FAULT_KINDS: frozenset[str] = frozenset({"duplicate", "late", "out_of_order"})

PLANTS: tuple[str, ...] = ("P1", "P2", "P3", "P4")
LINES_PER_PLANT = 3
# Per-model baselines, in SENSORS order: temperature, vibration, pressure, rpm, power.
MODEL_BASELINES: dict[str, tuple[float, float, float, float, float]] = {
    "CNC-A": (60.0, 2.5, 6.0, 3000.0, 15.0),
    "CNC-B": (55.0, 2.0, 7.0, 4500.0, 22.0),
    "PRESS-X": (70.0, 4.0, 12.0, 600.0, 45.0),
    "PUMP-C": (45.0, 1.8, 9.0, 1800.0, 11.0),
}
FAILURE_CODES: tuple[str, ...] = ("F01", "F02", "F03", "F04", "F05", "F06")
COMPONENTS: tuple[str, ...] = ("bearing", "motor", "seal", "spindle", "hydraulics", "sensor")
# Fictional names: the technician field is personal data the ELT pseudonymises.
TECHNICIANS: tuple[str, ...] = (
    "Anna Schmidt",
    "Lukas Weber",
    "Maria Rossi",
    "James Carter",
    "Sofia Novak",
    "Daniel Kim",
    "Elena Petrova",
    "Tomasz Nowak",
    "Aisha Rahman",
    "Pierre Dubois",
    "Laura Fernandez",
    "Mehmet Yilmaz",
)

MAX_MACHINES = 8999  # M-9xxx is reserved for unknown machines
