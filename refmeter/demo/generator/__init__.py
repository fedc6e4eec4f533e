"""Builds the demo city: 3 supply units, 8 organisations with the source's point counts
(7,185 in all), about 2,000 transformer areas with access points, the nearby-number
index, groups of at most 90 sub-accounts per device type, and a login per role.

Everything goes through the services, so the demo data obeys the same rules (and
leaves the same audit trail) as real data. The random generator is seeded: the
same date gives the same city.
"""

from refmeter.demo.generator.activity import DEMO_FAULTS
from refmeter.demo.generator.city import (
    ACCESS_POINTS_PER_AREA,
    AREAS_PER_UNIT,
    COMMUNITIES,
    CUSTOMERS,
    DEMO_PASSWORD,
    DEMO_USERS,
    DEVICE_TYPES,
    ESTATES,
    NEARBY_NUMBERS_PER_UNIT,
    SPOTS,
    STREETS,
    SUB_ACCOUNTS_PER_GROUP,
    UNITS,
    DemoCustomer,
)
from refmeter.demo.generator.load import DemoSummary, demo_is_loaded, load_demo, split_evenly

__all__ = [
    "ACCESS_POINTS_PER_AREA",
    "AREAS_PER_UNIT",
    "COMMUNITIES",
    "CUSTOMERS",
    "DEMO_FAULTS",
    "DEMO_PASSWORD",
    "DEMO_USERS",
    "DEVICE_TYPES",
    "ESTATES",
    "NEARBY_NUMBERS_PER_UNIT",
    "SPOTS",
    "STREETS",
    "SUB_ACCOUNTS_PER_GROUP",
    "UNITS",
    "DemoCustomer",
    "DemoSummary",
    "demo_is_loaded",
    "load_demo",
    "split_evenly",
]
