"""Loading OpenAPI 3.x and Swagger 2.0 documents: real public specs, then edge cases as tables."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest

from apisight.discovery.spec import Server, Spec, SpecOperation, load_spec, schema_field_names
from apisight.errors import SpecError

REAL_SPECS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "openapi"


@pytest.fixture(scope="module")
def real_spec():
    """Loads a document from ../shared/data/openapi once per module, or skips saying why."""
    cache: dict[str, Spec] = {}

    def load(name: str) -> Spec:
        path = REAL_SPECS / name
        if not path.is_file():
            pytest.skip(f"real OpenAPI documents are not checked out at {REAL_SPECS} ({name} missing)")
        if name not in cache:
            cache[name] = load_spec(path)
        return cache[name]

    return load


def write(tmp_path: Path, text: str, name: str = "spec.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def load_yaml(tmp_path: Path, text: str) -> Spec:
    return load_spec(write(tmp_path, text))


def op(spec: Spec, method: str, template: str) -> SpecOperation:
    found = spec.operation(method, template)
    assert found is not None, (
        f"{method} {template} not in {[(o.method, o.template) for o in spec.operations]}"
    )
    return found


# --- real public documents ------------------------------------------------------------------

CRAPI = "crapi-openapi-spec.json"
VAMPI = "vampi_openapi3.yml"
UKOB = "ukob_v4.0_account-info-openapi.yaml"


@pytest.mark.parametrize(
    ("name", "title", "operations", "servers"),
    [
        (CRAPI, "OWASP crAPI API", 44, (Server(None, ""),)),  # localhost:8888 -> any host
        (VAMPI, "VAmPI", 13, (Server(None, ""),)),  # localhost:5000 -> any host
        (UKOB, "Account and Transaction API Specification", 29, (Server(None, "/open-banking/v4.0/aisp"),)),
    ],
)
def test_real_specs_load(real_spec, name, title, operations, servers):
    spec = real_spec(name)
    assert (spec.title, len(spec.operations), spec.servers) == (title, operations, servers)
    assert not [w for w in spec.warnings if w.startswith("invalid")]


@pytest.mark.parametrize(
    ("name", "method", "template", "full", "security", "requires_auth", "query", "fields"),
    [
        (UKOB, "GET", "/accounts/{AccountId}/transactions",
         "/open-banking/v4.0/aisp/accounts/{AccountId}/transactions", ("PSUOAuth2Security",), True,
         {"fromBookingDateTime", "toBookingDateTime"}, {"Data", "Links", "Meta"}),
        (UKOB, "POST", "/account-access-consents", "/open-banking/v4.0/aisp/account-access-consents",
         ("TPPOAuth2Security",), True, set(), {"Data", "Risk", "Links", "Meta"}),
        (CRAPI, "POST", "/identity/api/auth/signup", "/identity/api/auth/signup", (), False, set(),
         {"message", "status"}),
        (CRAPI, "GET", "/community/api/v2/community/posts/recent", "/community/api/v2/community/posts/recent",
         ("bearerAuth",), True, {"limit", "offset"}, None),
        (CRAPI, "GET", "/workshop/api/mechanic/", "/workshop/api/mechanic/", ("bearerAuth",), True, set(), None),
        (VAMPI, "GET", "/users/v1/{username}", "/users/v1/{username}", None, None, set(), None),
    ],
)  # fmt: skip
def test_real_spec_operations(
    real_spec, name, method, template, full, security, requires_auth, query, fields
):
    o = op(real_spec(name), method, template)
    assert o.full_templates == (full,)
    assert o.hosts == ()
    assert (o.security, o.requires_auth) == (security, requires_auth)
    assert o.query_parameter_names == query
    if fields is not None:
        assert fields <= o.response_field_names("201" if method == "POST" and name == UKOB else "200")


def test_real_spec_security_schemes(real_spec):
    crapi, ukob = real_spec(CRAPI), real_spec(UKOB)
    bearer = crapi.security_schemes["bearerAuth"]
    assert (bearer.type, bearer.scheme, bearer.bearer_format) == ("http", "bearer", "JWT")
    assert {n: s.type for n, s in ukob.security_schemes.items()} == {
        "TPPOAuth2Security": "oauth2",
        "PSUOAuth2Security": "oauth2",
    }
    assert any("loopback" in w and "localhost:8888" in w for w in crapi.warnings)


def test_real_spec_content_types_as_written(real_spec):
    consents = op(real_spec(UKOB), "POST", "/account-access-consents")
    assert consents.request_content_types == {
        "application/json; charset=utf-8",
        "application/json",
        "application/jose+jwe",
    }
    assert consents.documents_content_type("application/JSON;charset=UTF-8", response=False)
    qr = op(real_spec(CRAPI), "GET", "/workshop/api/shop/return_qr_code")
    assert qr.response_content_types == {""}  # crAPI documents the PNG under an empty media type


# --- errors: precise, naming the file and the location ------------------------------------

ERRORS = [
    ("yaml-syntax", "spec.yaml", "openapi: 3.0.0\ninfo:\n  title: [unclosed\npaths: {}\n",
     r"spec\.yaml:4:\d+: YAML syntax error"),
    ("yaml-tab", "spec.yaml", "openapi: 3.0.0\npaths:\n\t/a: {}\n", r"spec\.yaml:3:1: YAML syntax error"),
    ("json-syntax", "spec.json", '{"openapi": "3.0.0",\n "paths": {,}}', r"spec\.json:2:\d+: JSON syntax error"),
    ("not-a-mapping", "spec.yaml", "- openapi\n- 3.0.0\n", r"must be a mapping at the top level, got a list"),
    ("empty", "spec.yaml", "", r"must be a mapping at the top level, got empty"),
    ("no-version-key", "spec.yaml", "info: {title: x}\npaths: {}\n", r"no 'openapi' or 'swagger' key"),
    ("openapi-4", "spec.yaml", "openapi: 4.0.0\npaths: {}\n", r"unsupported OpenAPI version '4\.0\.0'"),
    ("openapi-2", "spec.yaml", "openapi: '2.0'\npaths: {}\n", r"unsupported OpenAPI version '2\.0'"),
    ("swagger-3", "spec.yaml", "swagger: '3.0'\npaths: {}\n", r"unsupported Swagger version '3\.0'"),
    ("swagger-1.2", "spec.json", '{"swaggerVersion": "1.2", "apis": []}', r"Swagger 1\.2 is not supported"),
    ("paths-list", "spec.yaml", "openapi: 3.0.0\ninfo: {title: x, version: '1'}\npaths: [a]\n",
     r"'paths' must be a mapping, got a list"),
    ("dangling-ref", "spec.yaml", """\
openapi: 3.0.0
info: {title: x, version: '1'}
paths:
  /a/{id}:
    get:
      responses:
        '200':
          description: ok
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Nope'}
components: {schemas: {}}
""", (r"\$ref '#/components/schemas/Nope' at "
     r"#/paths/~1a~1\{id\}/get/responses/200/content/application~1json/schema points to nothing")),
    ("dangling-refs-counted", "spec.yaml", """\
swagger: '2.0'
info: {title: x, version: '1'}
paths:
  /a:
    get:
      parameters: [{$ref: '#/parameters/Gone'}]
      responses: {'200': {description: ok, schema: {$ref: '#/definitions/Gone'}}}
""", r"\$ref '#/parameters/Gone' at #/paths/~1a/get/parameters/0 points to nothing \(and 1 more\)"),
    ("recursive-alias", "spec.yaml", "openapi: 3.0.0\npaths: &p\n  /a: *p\n", r"refers to itself"),
]  # fmt: skip


@pytest.mark.parametrize(("case", "name", "text", "message"), ERRORS, ids=[e[0] for e in ERRORS])
def test_unusable_documents_are_precise_errors(tmp_path, case, name, text, message):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(SpecError, match=message) as caught:
        load_spec(path)
    assert str(caught.value).startswith(str(path))


def test_missing_file_is_a_spec_error(tmp_path):
    with pytest.raises(SpecError, match=r"nope\.yaml: cannot read the spec"):
        load_spec(tmp_path / "nope.yaml")


# --- lenient where the document is still usable -------------------------------------------


def test_validation_problems_are_warnings(tmp_path):
    spec = load_yaml(
        tmp_path,
        """
        openapi: 3.0.3
        info: {title: sloppy}
        paths:
          /a:
            get:
              parameters: [{name: q, in: somewhere}]
              responses: {}
        """,
    )
    assert [o.template for o in spec.operations] == ["/a"]
    assert any(w.startswith("invalid at $.info") and "version" in w for w in spec.warnings)
    assert any("$.paths['/a'].get" in w for w in spec.warnings)


def test_yaml_scalars_keep_their_text(tmp_path):
    spec = load_yaml(
        tmp_path,
        """
        openapi: 3.0.0
        info: {title: dated, version: 2023-10-16}
        paths:
          /a:
            get:
              responses:
                200: {description: ok}
                4XX: {description: client error}
        """,
    )
    assert spec.version == "2023-10-16"
    assert op(spec, "GET", "/a").status_codes == {"200", "4XX"}


def test_external_refs_are_kept_and_reported(tmp_path):
    spec = load_yaml(
        tmp_path,
        """
        openapi: 3.0.0
        info: {title: x, version: '1'}
        paths:
          /a:
            get:
              responses:
                '200': {$ref: 'common.yaml#/components/responses/Ok'}
        """,
    )
    assert any("external $ref" in w and "common.yaml" in w for w in spec.warnings)
    assert op(spec, "GET", "/a").responses == {"200": {}}


# --- $ref resolution ------------------------------------------------------------------------

REFS = """
openapi: 3.1.0
info: {title: refs, version: '1'}
paths:
  /nodes/{id}:
    parameters: [{$ref: '#/components/parameters/Id'}]
    get:
      parameters: [{$ref: '#/components/parameters/Expand'}]
      responses:
        '200': {$ref: '#/components/responses/NodeOk'}
  /a~b/x:
    post:
      requestBody:
        content:
          application/json:
            schema: {$ref: '#/paths/~1nodes~1%7Bid%7D/get/responses/200/content/application~1json/schema'}
      responses: {'204': {description: none}}
components:
  parameters:
    Id: {name: id, in: path, required: true, schema: {type: string, format: uuid}}
    Expand: {name: expand, in: query, schema: {type: [string, 'null']}}
  responses:
    NodeOk:
      description: ok
      content:
        application/json:
          schema: {$ref: '#/components/schemas/Node'}
  schemas:
    Base:
      type: object
      properties: {id: {type: string}, created: {type: string}}
    Node:
      allOf:
        - $ref: '#/components/schemas/Base'
        - type: object
          properties:
            name: {type: string}
            children: {type: array, items: {$ref: '#/components/schemas/Node'}}
"""


def test_refs_resolve_nested_and_through_pointers(tmp_path):
    spec = load_yaml(tmp_path, REFS)
    get = op(spec, "GET", "/nodes/{id}")
    assert [(p.name, p.location, p.required, p.type, p.format) for p in get.parameters] == [
        ("id", "path", True, "string", "uuid"),
        ("expand", "query", False, "string", None),  # 3.1 type list: first non-null
    ]
    assert get.response_field_names("200") == {"id", "created", "name", "children"}
    post = op(spec, "POST", "/a~b/x")
    assert post.request_field_names == {"id", "created", "name", "children"}


def test_recursive_schemas_are_cut_not_looped(tmp_path):
    spec = load_yaml(tmp_path, REFS)
    assert any("recursive schemas kept as $ref: #/components/schemas/Node" in w for w in spec.warnings)
    node = op(spec, "GET", "/nodes/{id}").responses["200"]["application/json"]
    children = node["allOf"][1]["properties"]["children"]
    assert children["items"] == {"$ref": "#/components/schemas/Node"}
    json.dumps(node)  # a plain tree, no Python-level cycle


@pytest.mark.parametrize(
    ("schema", "fields"),
    [
        ({"type": "object", "properties": {"a": {}, "b": {}}}, {"a", "b"}),
        ({"allOf": [{"properties": {"a": {}}}, {"allOf": [{"properties": {"b": {}}}]}]}, {"a", "b"}),
        ({"oneOf": [{"properties": {"a": {}}}, {"properties": {"c": {}}}]}, {"a", "c"}),
        ({"type": "array", "items": {"properties": {"a": {}}}}, {"a"}),  # list endpoints: item fields
        ({"type": "array", "items": {"type": "array", "items": {"properties": {"a": {}}}}}, set()),
        ({"properties": {"a": {"properties": {"deep": {}}}}}, {"a"}),
        ({"$ref": "#/components/schemas/Cycle"}, set()),
        ({"type": "string"}, set()),
        (None, set()),
    ],
)
def test_schema_field_names(schema, fields):
    assert schema_field_names(schema) == fields


# --- Swagger 2.0 ----------------------------------------------------------------------------

SWAGGER = """
swagger: '2.0'
info: {title: Petstore, version: 1.0.0, x-owner: pets-team}
host: Petstore.Example.com:8443
basePath: /v2/
schemes: [https, http]
consumes: [application/json]
produces: [application/json, application/xml]
securityDefinitions:
  basic: {type: basic}
  key: {type: apiKey, in: header, name: X-API-Key}
  oauth: {type: oauth2, flow: accessCode, authorizationUrl: 'https://a/x', tokenUrl: 'https://a/t', scopes: {}}
security: [{key: []}]
paths:
  /pets/{petId}:
    parameters: [{name: petId, in: path, required: true, type: integer, format: int64}]
    get:
      operationId: getPet
      parameters: [{name: fields, in: query, type: array, items: {type: string}}]
      responses:
        '200': {description: ok, schema: {$ref: '#/definitions/Pet'}}
        default: {description: error}
    put:
      deprecated: true
      security: []
      parameters: [{name: body, in: body, required: true, schema: {$ref: '#/definitions/Pet'}}]
      responses: {'204': {description: done}}
  /pets/{petId}/photo:
    post:
      consumes: [multipart/form-data]
      security: [{basic: []}, {oauth: [write]}]
      parameters:
        - {name: petId, in: path, required: true, type: integer}
        - {name: file, in: formData, type: file, required: true}
        - {name: caption, in: formData, type: string}
      responses: {'201': {description: created}}
definitions:
  Pet:
    type: object
    properties: {id: {type: integer}, name: {type: string}, owner: {$ref: '#/definitions/Owner'}}
  Owner: {type: object, properties: {name: {type: string}}}
"""


def test_swagger2_is_converted(tmp_path):
    spec = load_yaml(tmp_path, SWAGGER)
    assert spec.spec_version == "2.0"
    assert spec.servers == (Server("petstore.example.com", "/v2"),)
    assert {n: (s.type, s.scheme, s.location, s.param_name) for n, s in spec.security_schemes.items()} == {
        "basic": ("http", "basic", None, None),
        "key": ("apiKey", None, "header", "X-API-Key"),
        "oauth": ("oauth2", None, None, None),
    }
    get = op(spec, "GET", "/pets/{petId}")
    assert get.full_templates == ("/v2/pets/{petId}",)
    assert get.hosts == ("petstore.example.com",)
    assert [(p.name, p.location, p.type, p.format) for p in get.parameters] == [
        ("petId", "path", "integer", "int64"),
        ("fields", "query", "array", None),
    ]
    assert get.responses["200"].keys() == {"application/json", "application/xml"}
    assert get.response_field_names("200") == {"id", "name", "owner"}
    assert get.documents_status(503)  # "default"
    assert (get.security, get.owner) == (("key",), "pets-team")


def test_swagger2_bodies_and_security(tmp_path):
    spec = load_yaml(tmp_path, SWAGGER)
    put = op(spec, "PUT", "/pets/{petId}")
    assert (put.deprecated, put.security, put.requires_auth) == (True, (), False)
    assert put.request_content_types == {"application/json"}
    assert put.request_field_names == {"id", "name", "owner"}
    photo = op(spec, "POST", "/pets/{petId}/photo")
    assert photo.request_content_types == {"multipart/form-data"}
    assert photo.request_body["multipart/form-data"]["required"] == ["file"]
    assert photo.request_field_names == {"file", "caption"}
    assert photo.security_requirements == (("basic",), ("oauth",))
    assert photo.requires_auth is True


def test_swagger2_without_host_is_relative(tmp_path):
    spec = load_yaml(tmp_path, "swagger: '2.0'\ninfo: {title: x, version: '1'}\nbasePath: /api\npaths: {}\n")
    assert spec.servers == (Server(None, "/api"),)


# --- servers --------------------------------------------------------------------------------

SERVERS = [
    ("enum-host", "- url: 'https://{region}.api.example.com/v1'\n  variables: {region: {default: eu, enum: [eu, us]}}",
     [("eu.api.example.com", "/v1"), ("us.api.example.com", "/v1")]),
    ("free-host-var", "- url: 'https://{region}.api.example.com/v1'\n  variables: {region: {default: eu}}",
     [("{region}.api.example.com", "/v1")]),
    ("path-var-default", "- url: 'https://api.example.com/{basePath}'\n  variables: {basePath: {default: v2}}",
     [("api.example.com", "/v2")]),
    ("path-var-enum", "- url: '/{ver}/'\n  variables: {ver: {default: v1, enum: [v1, v2]}}",
     [(None, "/v1"), (None, "/v2")]),
    ("relative", "- url: /v1/", [(None, "/v1")]),
    ("relative-no-slash", "- url: v1", [(None, "/v1")]),
    ("root", "- url: /", [(None, "")]),
    ("port-and-case", "- url: 'https://API.Example.com:8443/'", [("api.example.com", "")]),
    ("loopback", "- url: 'http://localhost:8080/api'\n- url: 'http://127.0.0.1/api'", [(None, "/api")]),
    ("two-hosts", "- url: 'https://a.example.com/v1'\n- url: 'https://b.example.com/v1'",
     [("a.example.com", "/v1"), ("b.example.com", "/v1")]),
    ("none", "[]", [(None, "")]),
]  # fmt: skip


@pytest.mark.parametrize(("case", "servers", "expected"), SERVERS, ids=[s[0] for s in SERVERS])
def test_servers(tmp_path, case, servers, expected):
    indented = textwrap.indent(servers, "  ")
    text = f"openapi: 3.0.0\ninfo: {{title: x, version: '1'}}\nservers:\n{indented}\npaths:\n  /a: {{get: {{}}}}\n"
    spec = load_spec(write(tmp_path, text))
    assert spec.servers == tuple(Server(h, b) for h, b in expected)
    assert op(spec, "GET", "/a").full_templates == tuple(dict.fromkeys(b + "/a" for _, b in expected))
    if case == "loopback":
        assert any("loopback" in w for w in spec.warnings)


def test_path_and_operation_servers_override(tmp_path):
    spec = load_yaml(
        tmp_path,
        """
        openapi: 3.0.0
        info: {title: x, version: '1'}
        servers: [{url: 'https://api.example.com/v1'}]
        paths:
          /a:
            servers: [{url: /internal}]
            get: {}
            post: {servers: [{url: 'https://upload.example.com'}]}
          /b: {get: {}}
        """,
    )
    assert op(spec, "GET", "/a").full_templates == ("/internal/a",)
    assert op(spec, "GET", "/a").hosts == ()
    assert op(spec, "POST", "/a").hosts == ("upload.example.com",)
    assert op(spec, "GET", "/b").full_templates == ("/v1/b",)


# --- security, deprecation, ownership -------------------------------------------------------

SECURITY_DOC = """
openapi: 3.0.0
info: {title: x, version: '1', x-owner: platform}
{root}
components:
  securitySchemes:
    bearer: {type: http, scheme: Bearer}
    key: {type: apiKey, in: query, name: api_key}
    mtls: {type: mutualTLS}
    oidc: {type: openIdConnect, openIdConnectUrl: 'https://id.example.com/.well-known/openid-configuration'}
paths:
  /a:
    get: {op}
"""

SECURITY = [
    ("root-inherited", "security: [{bearer: []}]", "{}", ("bearer",), True),
    ("override-none", "security: [{bearer: []}]", "{security: []}", (), False),
    ("override-other", "security: [{bearer: []}]", "{security: [{key: []}]}", ("key",), True),
    ("optional", "", "{security: [{}, {bearer: []}]}", ("bearer",), False),
    ("and", "", "{security: [{bearer: [], mtls: []}]}", ("bearer", "mtls"), True),
    ("or", "", "{security: [{oidc: [read]}, {key: []}]}", ("oidc", "key"), True),
    ("unspecified", "", "{}", None, None),
]  # fmt: skip


@pytest.mark.parametrize(
    ("case", "root", "operation", "names", "requires"), SECURITY, ids=[s[0] for s in SECURITY]
)
def test_security_inheritance(tmp_path, case, root, operation, names, requires):
    spec = load_spec(write(tmp_path, SECURITY_DOC.replace("{root}", root).replace("{op}", operation)))
    got = op(spec, "GET", "/a")
    assert (got.security, got.requires_auth) == (names, requires)


def test_security_scheme_types(tmp_path):
    spec = load_spec(write(tmp_path, SECURITY_DOC.replace("{root}", "").replace("{op}", "{}")))
    assert {n: (s.type, s.scheme, s.location, s.param_name) for n, s in spec.security_schemes.items()} == {
        "bearer": ("http", "bearer", None, None),
        "key": ("apiKey", None, "query", "api_key"),
        "mtls": ("mutualTLS", None, None, None),
        "oidc": ("openIdConnect", None, None, None),
    }


def test_undefined_security_scheme_is_a_warning(tmp_path):
    spec = load_spec(
        write(tmp_path, SECURITY_DOC.replace("{root}", "").replace("{op}", "{security: [{ghost: []}]}"))
    )
    assert any("undefined scheme 'ghost'" in w for w in spec.warnings)


def test_deprecated_owner_tags_summary(tmp_path):
    spec = load_yaml(
        tmp_path,
        """
        openapi: 3.0.0
        info: {title: x, version: '1', x-owner: platform-team}
        paths:
          /v1/profile:
            x-owner: identity-team
            get: {deprecated: true, tags: [profile], summary: Old profile, operationId: getProfileV1}
            put: {x-owner: {team: profile-squad, email: p@example.com}}
          /v2/profile:
            get: {}
        """,
    )
    old = op(spec, "GET", "/v1/profile")
    assert (old.deprecated, old.owner, old.tags, old.summary, old.operation_id) == (
        True,
        "identity-team",
        ("profile",),
        "Old profile",
        "getProfileV1",
    )
    assert op(spec, "PUT", "/v1/profile").owner == "profile-squad"
    new = op(spec, "GET", "/v2/profile")
    assert (new.deprecated, new.owner, new.operation_id) == (False, "platform-team", None)


# --- what drift compares --------------------------------------------------------------------

DRIFT_DOC = """
openapi: 3.0.0
info: {title: x, version: '1'}
paths:
  /items/{id}:
    parameters:
      - {name: id, in: path, schema: {type: integer}}
      - {name: verbose, in: query, schema: {type: boolean}}
    get:
      parameters:
        - {name: verbose, in: query, required: true, schema: {type: string}}
        - {name: fields, in: query, schema: {type: string}}
        - {name: X-Trace, in: header, schema: {type: string}}
      responses:
        '200':
          description: ok
          content:
            application/json; charset=utf-8: {schema: {properties: {id: {}, name: {}}}}
            application/*: {schema: {properties: {id: {}}}}
        4XX:
          description: client error
          content: {application/problem+json: {schema: {properties: {title: {}, detail: {}}}}}
"""


@pytest.mark.parametrize(
    ("status", "documented"),
    [(200, True), ("200", True), (201, False), (404, True), (409, True), (500, False)],
)
def test_documents_status(tmp_path, status, documented):
    assert op(load_yaml(tmp_path, DRIFT_DOC), "GET", "/items/{id}").documents_status(status) is documented


@pytest.mark.parametrize(
    ("content_type", "documented"),
    [
        ("application/json", True),
        ("Application/JSON; charset=UTF-8", True),
        ("application/problem+json", True),
        ("application/xml", True),  # application/*
        ("text/html", False),
    ],
)
def test_documents_content_type(tmp_path, content_type, documented):
    got = op(load_yaml(tmp_path, DRIFT_DOC), "GET", "/items/{id}")
    assert got.documents_content_type(content_type) is documented
    assert got.documents_content_type(content_type, response=False) is False  # no request body


def test_drift_helpers(tmp_path):
    got = op(load_yaml(tmp_path, DRIFT_DOC), "GET", "/items/{id}")
    assert got.query_parameter_names == {"verbose", "fields"}
    assert got.parameter_names("header") == {"X-Trace"}
    verbose = next(p for p in got.parameters if p.name == "verbose")
    assert (verbose.required, verbose.type) == (True, "string")  # the operation overrides the path item
    assert next(p for p in got.parameters if p.name == "id").required  # path parameters always are
    assert got.status_codes == {"200", "4XX"}
    assert got.response_field_names("200") == {"id", "name"}
    assert got.response_field_names() == {"id", "name", "title", "detail"}
    assert got.response_content_types == {
        "application/json; charset=utf-8",
        "application/*",
        "application/problem+json",
    }


# --- hostile or broken documents never end in a traceback ----------------------------------


def test_malformed_parts_are_skipped_with_warnings(tmp_path):
    spec = load_yaml(
        tmp_path,
        """
        openapi: 3.0.0
        info: just a string
        servers: [{description: no url}]
        components: {securitySchemes: {broken: {scheme: bearer}}}
        paths:
          /a: [not, a, mapping]
          /b:
            get: not an operation
            post:
              parameters: {name: q}
              responses: [200]
              requestBody: {content: [x]}
              security: yes
              tags: nope
          c: {get: {}}
        """,
    )
    assert [(o.method, o.template) for o in spec.operations] == [("POST", "/b"), ("GET", "c")]
    post = spec.operations[0]
    assert (post.parameters, post.responses, post.request_body) == ((), {}, {})
    assert (post.security, post.tags) == (None, ())
    assert spec.operations[1].full_templates == ("/c",)
    for fragment in ["path item is not a mapping", "operation is not a mapping", "does not start with '/'",
                     "server without a url", "securitySchemes/broken: no type"]:  # fmt: skip
        assert any(fragment in w for w in spec.warnings), fragment


def test_alias_bomb_is_refused(tmp_path):
    lines = ["openapi: 3.0.0", "a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}]" for i in range(1, 12)]
    lines.append("paths: {}")
    with pytest.raises(SpecError, match="YAML aliases expand the document past"):
        load_spec(write(tmp_path, "\n".join(lines)))


@pytest.mark.parametrize(
    ("name", "depth"),
    [("deep.json", 100_000), ("deep.yaml", 100_000), ("deep.yaml", 990), ("deep.json", 990)],
)
def test_absurd_nesting_is_an_error_or_loads(tmp_path, name, depth):
    path = tmp_path / name
    path.write_text('{"openapi": "3.0.0", "paths": {}, "x": ' + "[" * depth + "]" * depth + "}")
    try:
        load_spec(path)
    except SpecError as e:
        assert re.search("nested too deeply|maximum nesting depth", str(e))
