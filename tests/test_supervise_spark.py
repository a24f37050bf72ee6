"""The same rule SQL on Spark in local mode: equal flags to DuckDB's on the generator's output.
One SparkSession for the module (starting one takes seconds) and small data; skipped, with the
reason, where pyspark (the [spark] extra) or Java is missing — .ci/run installs both."""

from __future__ import annotations

from typing import Any

import pytest

from agent.core.config import PROJECT_ROOT, Settings
from agent.core.items import items_path, load_items
from agent.core.supervision import load_rules
from agent.supervise.engines import spark_missing, spark_session
from agent.supervise.reader import read_claims_file
from agent.supervise.run import supervise
from eval.claims_gen import generate

pytestmark = [pytest.mark.spark, pytest.mark.skipif(spark_missing() is not None, reason=str(spark_missing()))]
RULES = PROJECT_ROOT / "knowledge_base" / "supervision.yaml"


@pytest.fixture(scope="module")
def spark() -> Any:
    """The module's one local SparkSession (stopped at the end)."""
    session = spark_session()
    yield session
    session.stop()
    import agent.supervise.engines as engines

    engines._SESSION = None


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, ...]:
    """A small generated set (2 planted instances and 1 near-miss per rule) and its registry rows."""
    from agent.core.catalog import load_catalog
    from agent.registry.certs import import_certifications
    from agent.registry.events import import_events
    from agent.registry.store import open_registry
    from agent.supervise.run import registry_rows

    root = tmp_path_factory.mktemp("spark")
    generate(root / "set", seed=9, persons=12, planted=2, near=1)
    settings = Settings(home=root / "home")
    reg = open_registry(settings)
    catalog = load_catalog(settings.catalog_path)
    import_certifications(reg, root / "set" / "certifications.jsonl", catalog)
    import_events(reg, root / "set" / "events.jsonl")
    rows = registry_rows(reg)
    reg.close()
    return read_claims_file(root / "set" / "claims.jsonl"), rows, catalog, root / "set"


def test_spark_and_duckdb_give_equal_flags_on_the_generator_output(spark: Any, inputs: tuple[Any, ...]) -> None:
    read, rows, catalog, data = inputs
    items, rules = load_items(items_path(RULES)), load_rules(RULES)
    duck = supervise(read, rows, items, rules, "duckdb", catalog)
    on_spark = supervise(read, rows, items, rules, "spark", catalog)
    assert on_spark.engine == "spark"
    assert [f.to_dict() for f in on_spark.flags] == [f.to_dict() for f in duck.flags]
    assert {r["rule"] for r in duck.summary()["by_rule"] if r["flags"]} == {f"SV0{i}" for i in range(1, 10)}
    import json

    gold = {(g["rule"], g["claim_id"]) for g in map(json.loads, (data / "expected_flags.jsonl").open())}
    assert {(f.rule, c) for f in on_spark.flags for c in f.claim_ids} == gold
