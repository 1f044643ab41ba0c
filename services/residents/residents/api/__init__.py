"""HTTP API of the residents service, one module per blueprint: load → call domain → dump; no rules here."""

from .buildings import buildings
from .communities import communities
from .imports import imports
from .internal import internal
from .internal_structure import internal_more
from .renovations import renovation
from .residents import residents
from .units import units
from .zones import zones

# The order of the OpenAPI document's tags.
BLUEPRINTS = (communities, zones, buildings, units, residents, renovation, imports, internal, internal_more)

__all__ = [
    "BLUEPRINTS",
    "buildings",
    "communities",
    "imports",
    "internal",
    "internal_more",
    "renovation",
    "residents",
    "units",
    "zones",
]
