"""Where the rule SQL runs: DuckDB embedded (the default; no extension is ever downloaded — the
tables arrive as numpy columns, so not even the JSON reader is needed) or Spark in local mode
(the same SQL text; the tables travel as Parquet files DuckDB writes). Each rule's result is
kept as a table ``r_<rule>`` so that a later rule can leave alone the claims it flagged."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Protocol

from agent.core.i18n import _
from agent.supervise.errors import EngineError
from agent.supervise.tables import Tables

SQL_TYPES = {"str": "VARCHAR", "int": "BIGINT", "bool": "BOOLEAN"}
SPARK_TYPES = {"str": "STRING", "int": "BIGINT", "bool": "BOOLEAN"}


class Engine(Protocol):
    """What the supervisor needs of an engine."""

    name: str

    def load(self, tables: Tables) -> None:
        """Make every table queryable by its name."""

    def keep(self, name: str, sql: str) -> list[dict[str, Any]]:
        """Run ``sql``, keep its result as table ``name`` and return its rows."""

    def close(self) -> None:
        """Release what the engine holds."""


def _duckdb() -> Any:
    try:
        import duckdb
    except ImportError:  # a dependency: only a broken install lacks it
        raise EngineError(_("duckdb is not installed"), _("Reinstall certreview (duckdb is a dependency).")) from None
    return duckdb


class DuckEngine:
    """DuckDB in memory; extensions neither installed nor loaded automatically (air-gapped)."""

    name = "duckdb"

    def __init__(self, threads: int | None = None) -> None:
        duckdb = _duckdb()
        config: dict[str, Any] = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}
        if threads:
            config["threads"] = threads
        self.con = duckdb.connect(":memory:", config=config)

    def load(self, tables: Tables) -> None:
        """Register each table's columns and copy them into a typed DuckDB table."""
        for name, cols in tables.data.items():
            kinds = tables.kinds[name]
            self.con.register(f"_src_{name}", cols)
            select = ", ".join(f'CAST("{c}" AS {SQL_TYPES[k]}) AS "{c}"' for c, k in kinds.items())
            self.con.execute(f"CREATE TABLE {name} AS SELECT {select} FROM _src_{name}")
            self.con.unregister(f"_src_{name}")

    def keep(self, name: str, sql: str) -> list[dict[str, Any]]:
        """Run ``sql`` into table ``name``; its rows as dicts."""
        self.con.execute(f"CREATE OR REPLACE TABLE {name} AS {sql}")
        cur = self.con.execute(f"SELECT * FROM {name}")
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]

    def write_parquet(self, name: str, path: Path) -> None:
        """Write table ``name`` as one Parquet file (how Spark receives the tables)."""
        self.con.execute(f"COPY {name} TO '{path}' (FORMAT PARQUET)")

    def close(self) -> None:
        """Close the connection."""
        self.con.close()


def spark_missing() -> str | None:
    """Why Spark cannot run here (None when it can): pyspark or Java missing."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return _("pyspark is not installed (pip install 'certreview[spark]')")
    if not (os.environ.get("JAVA_HOME") or shutil.which("java")):
        return _("Java is not installed (Spark needs a JRE 17+, e.g. apt-get install default-jre-headless)")
    return None


_SESSION: Any = None


def spark_session() -> Any:
    """One local SparkSession per process (starting one takes seconds), quiet and offline."""
    global _SESSION
    if _SESSION is not None:
        return _SESSION
    if (why := spark_missing()) is not None:
        raise EngineError(
            _("--engine spark: {why}", why=why), _("Install the [spark] extra and a JRE, or use --engine duckdb.")
        )
    from pyspark.sql import SparkSession

    _SESSION = (
        SparkSession.builder.master(os.environ.get("CERTREVIEW_SPARK_MASTER", "local[2]"))
        .appName("certreview-supervise")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    _SESSION.sparkContext.setLogLevel("ERROR")
    return _SESSION


class SparkEngine:
    """Spark SQL in local mode over the same tables (as Parquet) and the same rule SQL."""

    name = "spark"

    def __init__(self) -> None:
        self.spark = spark_session()
        self.tmp = Path(tempfile.mkdtemp(prefix="certreview-spark-"))
        self.kept: list[Any] = []

    def load(self, tables: Tables) -> None:
        """Load the tables into DuckDB, write each as Parquet, and read them as Spark views."""
        duck = DuckEngine(threads=2)
        try:
            duck.load(tables)
            for name in tables.data:
                path = self.tmp / f"{name}.parquet"
                duck.write_parquet(name, path)
                self.spark.read.parquet(str(path)).createOrReplaceTempView(name)
        finally:
            duck.close()

    def keep(self, name: str, sql: str) -> list[dict[str, Any]]:
        """Run ``sql`` as a cached view ``name``; its rows as dicts."""
        df = self.spark.sql(sql).cache()
        df.createOrReplaceTempView(name)
        self.kept.append(df)
        return [row.asDict() for row in df.collect()]

    def close(self) -> None:
        """Drop the cached results and the Parquet files; the session stays for the next run."""
        for df in self.kept:
            df.unpersist()
        for name in [t.name for t in self.spark.catalog.listTables() if t.isTemporary]:
            self.spark.catalog.dropTempView(name)
        shutil.rmtree(self.tmp, ignore_errors=True)


def make_engine(name: str) -> Engine:
    """The engine ``name`` (``duckdb`` or ``spark``)."""
    if name == "duckdb":
        return DuckEngine()
    if name == "spark":
        return SparkEngine()
    raise EngineError(
        _("unknown engine {name}", name=repr(name)), _("Use --engine duckdb (default) or --engine spark.")
    )
