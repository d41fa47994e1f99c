"""``brique customers ...`` and ``GET /customers...`` show the golden records sales built.

Sales arrive through the sync use-cases (tests/customers/test_sync_customers.py's world);
reviews come from observations with a postcode (sales carry none), made with the core.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from typer.testing import CliRunner

from bridge.customers import ObservedCustomer, observe
from bridge.model import CustomerRef
from tests.customers.test_sync_customers import World, make, order, ticket
from tests.support import write_yaml
from workers.cli import app
from workers.web import create_app

TOKEN = "customers-token-for-tests"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


class Setup:
    def __init__(self, world: World, config: Path, client: TestClient) -> None:
        self.world, self.config, self.client = world, config, client

    def cli(self, *args: str) -> Any:
        return CliRunner().invoke(
            app, ["customers", *args, "--config", str(self.config)], catch_exceptions=False
        )

    def json(self, *args: str) -> Any:
        result = self.cli(*args, "--json")
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    def http(self, path: str, **params: str) -> Any:
        response = self.client.get(path, params=params, headers=AUTH)
        assert response.status_code == 200, response.text
        return response.json()

    def observe(self, record: ObservedCustomer) -> int:
        with self.world.rt.transaction() as s:
            return observe(s, record, region="FR")


@pytest.fixture
def setup(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Setup]:
    monkeypatch.delenv("BRIQUE_DATABASE_URL", raising=False)
    monkeypatch.delenv("BRIQUE_CONFIG", raising=False)  # the CLI sets it from --config
    for world in make(tmp_path, database_url):
        world.ring(
            ticket(1, CustomerRef(loyalty_card="LOY-42", phone="06 12 34 56 78", name="Jon Snow"))
        )
        world.order(order(77, id=115, email="Jon@Example.com", phone="+33612345678"))
        config = write_yaml(
            tmp_path / "brique.yaml",
            {
                "data_dir": str(tmp_path),
                "database_url": database_url,
                "mapping": str(world.rt.settings.mapping),
                "connections": {"tills": {"connector": "poslog"}},
            },
        )
        world.rt.settings.web.export_token = SecretStr(TOKEN)
        with TestClient(create_app(world.rt)) as client:
            yield Setup(world, config, client)


def test_cli_and_http_show_the_same_golden_record(setup: Setup) -> None:
    (one,) = setup.world.goldens()
    shown = setup.json("show", str(one.id))
    assert shown == setup.http(f"/customers/{one.id}")
    assert {(r["source"], r["source_id"]) for r in shown["records"]} == {
        ("tills", "card:LOY-42"),
        ("eshop", "email:jon@example.com"),
    }
    assert shown["best"]["email"] == "jon@example.com"
    assert shown["best"]["loyalty_card"] == "LOY-42"
    assert {"kind": "phone", "value": "+33612345678"} in shown["keys"]
    for args, params in [
        (["--email", " JON@example.com"], {"email": " JON@example.com"}),
        (["--phone", "06 12 34 56 78", "--region", "FR"], {"phone": "0612345678", "region": "FR"}),
        (["--phone", "+33 6 12 34 56 78"], {"phone": "+33612345678"}),
        (["--card", "LOY-42"], {"card": "LOY-42"}),
    ]:
        assert setup.json("find", *args) == [shown], args
        assert setup.http("/customers", **params) == [shown], params
    assert setup.json("find", "--card", "NOBODY") == []
    assert setup.http("/customers", card="NOBODY") == []
    text = setup.cli("show", str(one.id))
    assert text.exit_code == 0 and "LOY-42" in text.stdout and "+33612345678" in text.stdout


def test_bad_ids_and_keys_exit_2_and_answer_404_or_422(setup: Setup) -> None:
    for args in (["show", "999"], ["review", "999", "--accept"], ["undo", "999"],
                 ["merge", "1", "999", "--reason", "x"]):  # fmt: skip
        result = setup.cli(*args)
        assert result.exit_code == 2, args
        assert "no " in result.stderr and "999" in result.stderr, args
    for args in (["find"], ["find", "--email", "a@b.c", "--card", "X"],
                 ["find", "--email", "nope"], ["find", "--phone", "06 12 34 56 78"],
                 ["find", "--phone", "0612345678", "--region", "XX"],
                 ["review", "1"], ["merge", "1", "1", "--reason", "x"]):  # fmt: skip
        result = setup.cli(*args)
        assert result.exit_code == 2, (args, result.output)
    assert "exactly one" in setup.cli("find").stderr
    assert "not an e-mail address" in setup.cli("find", "--email", "nope").stderr
    missing = setup.client.get("/customers/999", headers=AUTH)
    assert missing.status_code == 404 and "no golden record 999" in missing.text
    for params in ({}, {"email": "nope"}, {"email": "a@b.c", "card": "X"}, {"region": "FR"}):
        response = setup.client.get("/customers", params=params, headers=AUTH)
        assert response.status_code == 422, params


def test_reviews_are_accepted_or_rejected_through_the_cli(setup: Setup) -> None:
    def person(ident: str, first: str, last: str, postcode: str, email: str) -> int:
        return setup.observe(
            ObservedCustomer(source="crm", source_id=ident, first_name=first, last_name=last,
                             postcode=postcode, email=email)
        )  # fmt: skip

    a = person("1", "Ann", "Lee", "75001", "ann@a.fr")
    b = person("2", "ANN", "Lée", "75 001", "ann@b.fr")  # folded: the same name and postcode
    c = person("3", "Bob", "Ray", "69001", "bob@a.fr")
    d = person("4", "Bob", "Ray", "69001", "bob@b.fr")
    reviews = setup.json("reviews")
    assert reviews == setup.http("/customers/reviews")
    assert [(r["golden_id"], r["candidate_id"]) for r in reviews] == [(b, a), (d, c)]
    first, second = (r["id"] for r in reviews)
    table = setup.cli("reviews")
    assert table.exit_code == 0 and "crm/2" in table.stdout and "crm/4" in table.stdout

    accepted = setup.cli("review", str(first), "--accept")
    assert accepted.exit_code == 0, accepted.output
    assert f"review {first} accepted: merge" in accepted.stdout
    merge_id = accepted.stdout.split("merge ")[1].split()[0]
    merged = setup.json("show", str(b))
    assert merged["id"] == a and merged["merged"] == [b]
    assert {r["source_id"] for r in merged["records"]} == {"1", "2"}
    rejected = setup.cli("review", str(second), "--reject")
    assert rejected.exit_code == 0 and f"review {second} rejected" in rejected.stdout
    assert setup.json("reviews") == []
    again = setup.cli("review", str(second), "--accept")
    assert again.exit_code == 1 and "already rejected" in again.stderr

    undone = setup.cli("undo", merge_id)
    assert undone.exit_code == 0 and f"undone: merge(s) {merge_id}" in undone.stdout
    assert setup.json("show", str(b))["id"] == b
    assert [r["id"] for r in setup.json("reviews")] == [first]  # reopened by the undo


def test_merge_and_undo_through_the_cli(setup: Setup) -> None:
    (jon,) = setup.world.goldens()
    x = setup.observe(ObservedCustomer(source="crm", source_id="x", email="x@example.com"))
    y = setup.observe(ObservedCustomer(source="crm", source_id="y", email="y@example.com"))
    before = setup.json("show", str(x))
    first = setup.cli("merge", str(x), str(y), "--reason", "same person, said the shop")
    assert first.exit_code == 0, first.output
    m1 = first.stdout.split()[1].rstrip(":")
    second = setup.cli("merge", str(jon.id), str(x), "--reason", "confirmed by phone")
    assert second.exit_code == 0, second.output
    m2 = second.stdout.split()[1].rstrip(":")
    assert setup.http(f"/customers/{y}")["id"] == jon.id
    assert setup.http("/customers", email="y@example.com")[0]["id"] == jon.id
    stale = setup.cli("merge", str(x), str(jon.id), "--reason", "again")
    assert stale.exit_code == 1 and f"was merged into {jon.id}" in stale.stderr

    refused = setup.cli("undo", m1)
    assert refused.exit_code == 1
    assert f"later merge(s) {m2}" in refused.stderr and "cascade" in refused.stderr
    cascaded = setup.cli("undo", m1, "--cascade")
    assert cascaded.exit_code == 0 and f"undone: merge(s) {m2}, {m1}" in cascaded.stdout
    assert setup.json("show", str(x)) == before
    assert setup.json("show", str(jon.id)) == setup.http(f"/customers/{jon.id}")
    twice = setup.cli("undo", m1)
    assert twice.exit_code == 1 and "already undone" in twice.stderr


def test_the_routes_need_the_token(setup: Setup) -> None:
    (one,) = setup.world.goldens()
    paths = [f"/customers/{one.id}", "/customers?card=LOY-42", "/customers/reviews"]
    for path in paths:
        assert setup.client.get(path).status_code == 401, path
        wrong = setup.client.get(path, headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401, path
        assert "LOY-42" not in wrong.text
    # Checked before the parameters: a bad one tells nothing without the token.
    assert setup.client.get("/customers/abc").status_code == 401
    setup.world.rt.settings.web.export_token = None
    for path in paths:
        off = setup.client.get(path, headers=AUTH)
        assert off.status_code == 403 and "web.export_token" in off.text, path


def test_the_routes_are_documented_in_openapi(setup: Setup) -> None:
    spec = setup.client.get("/openapi.json").json()
    show = spec["paths"]["/customers/{customer_id}"]["get"]
    assert "golden customer record" in show["summary"]
    assert "Bearer" in show["description"] and "404" in show["responses"]
    find = spec["paths"]["/customers"]["get"]
    assert "Find" in find["summary"] and "normalised" in find["description"]
    assert {p["name"] for p in find["parameters"]} == {"email", "phone", "region", "card"}
    reviews = spec["paths"]["/customers/reviews"]["get"]
    assert "review" in reviews["summary"] and "401" in reviews["responses"]
