"""HTTP API of the residents service, one module per blueprint: load → call domain → dump; no rules here."""

from . import buildings, communities, imports, internal, internal_structure, renovations, residents, units, zones

# In the order of the OpenAPI document's tags.
BLUEPRINTS = (
    communities.communities,
    zones.zones,
    buildings.buildings,
    units.units,
    residents.residents,
    renovations.renovation,
    imports.imports,
    internal.internal,
    internal_structure.internal_more,
)
