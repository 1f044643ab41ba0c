"""Every label of the workbench and every enum value of the merged OpenAPI has its Chinese text, and the
catalogues are kept in the merge-friendly form the catalogue tool writes (sorted, no source locations)."""

import io

import pytest
from babel.messages.pofile import write_po

from workbench import catalogue
from workbench.i18n import ENUM_CONTEXT


@pytest.fixture(scope="module")
def merged_openapi(tmp_path_factory):
    """The gateway's merged document of every installed service, built in-process (no server, no migration)."""
    from guanjia import config, http
    from guanjia.service import load_specs

    env = {"GUANJIA_VAR_DIR": str(tmp_path_factory.mktemp("catalogue-var"))}
    specs = {name: spec for name, spec in load_specs().items() if name != "workbench"}
    apps = {name: spec.create_app(config.from_env(name, env), {}) for name, spec in specs.items() if name != "gateway"}
    gateway = specs["gateway"].create_app(config.from_env("gateway", env), http.upstreams_for(None, apps))
    response = gateway.test_client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    return document


def _untranslated(wanted):
    zh = catalogue.read("zh_CN")
    return sorted(
        f"{context or ''}|{msgid}"
        for context, msgid in wanted
        if not ((found := zh.get(msgid, context=context)) is not None and found.string)
    )


def test_every_enum_value_of_the_merged_openapi_has_a_chinese_label(merged_openapi):
    values = catalogue.enum_values(merged_openapi)
    assert {"in_progress", "repair", "butler", "move_in"} <= values  # the document is the whole instance's
    assert _untranslated({(ENUM_CONTEXT, value) for value in values}) == []


def test_every_message_of_the_templates_and_the_code_has_a_chinese_translation():
    wanted = catalogue.code_messages()
    assert ((None, "Sign in") in wanted) and len(wanted) > 100
    assert _untranslated(wanted) == []


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_catalogues_are_sorted_without_locations_as_the_tool_writes_them(locale):
    path = catalogue.TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po"
    buffer = io.BytesIO()
    parsed = catalogue.read(locale)
    parsed.creation_date = parsed.revision_date = catalogue.FIXED_DATE
    write_po(buffer, parsed, width=0, no_location=True, omit_header=False, sort_output=True)
    assert buffer.getvalue().decode() == path.read_text(encoding="utf-8"), (
        f"run `python -m workbench.catalogue` to rewrite {path.name} in its sorted form"
    )
