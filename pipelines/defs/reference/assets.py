"""Reference tables: the standards files, the code lists and the county registry."""

import dagster as dg

from pipelines.defs.resources import WAREHOUSE_POOL, Warehouse
from pipelines.lib.paths import MODELS_DIR
from pipelines.lib.queries import sql
from pipelines.lib.reference import registry as reference
from pipelines.lib.reference.alert_rules import RULE_TABLES, load_rules, rule_tables
from pipelines.lib.reference.checklists import CHECKLIST_TABLES, checklist_tables, load_checklists
from pipelines.lib.reference.standards import STANDARD_TABLES, load_standards, standard_tables
from pipelines.lib.warehouse import replace_table


def yaml_tables_asset(name: str, tables: tuple[str, ...], build, description: str) -> dg.AssetsDefinition:
    """One multi-asset that loads reviewed YAML (standards, rules) into marts tables.

    `build()` returns {table: frame} for the `tables` named; each is documented by its sidecar.
    """

    @dg.multi_asset(
        name=name,
        specs=[dg.AssetSpec(["marts", table], group_name="reference", kinds={"duckdb"}) for table in tables],
        pool=WAREHOUSE_POOL,
        description=description,
    )
    def _asset(warehouse: Warehouse):
        built = build()
        with warehouse.connect() as con:
            for table, frame in built.items():
                rows = replace_table(con, f"marts.{table}", frame)
                yield dg.MaterializeResult(
                    asset_key=["marts", table], metadata={"rows": dg.MetadataValue.int(rows)}
                )

    return _asset


standards_tables = yaml_tables_asset(
    "standards_tables",
    STANDARD_TABLES,
    lambda: standard_tables(load_standards(MODELS_DIR / "standards")),
    "Load models/standards/*.yaml into the tables the SQL models join.",
)

alert_rule_tables = yaml_tables_asset(
    "alert_rule_tables",
    RULE_TABLES,
    lambda: rule_tables(load_rules(MODELS_DIR / "rules")),
    "Load models/rules/*.yaml (backsliding rules, severities, settings) into the warehouse.",
)

checklist_tables_asset = yaml_tables_asset(
    "checklist_tables",
    CHECKLIST_TABLES,
    lambda: checklist_tables(load_checklists(MODELS_DIR / "checklists")),
    "Load models/checklists/*.yaml (every checkpoint of the evaluation checklists) into the warehouse.",
)


def _write_reference(warehouse: Warehouse, table: str, frame) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        rows = replace_table(con, f"marts.{table}", frame)
    return dg.MaterializeResult(metadata={"rows": rows})


@dg.asset(key=["marts", "dim_school_types"], group_name="reference", kinds={"duckdb"}, pool=WAREHOUSE_POOL)
def dim_school_types(warehouse: Warehouse) -> dg.MaterializeResult:
    """办学类型 codes and the stages each type teaches (contracts/codes/school_types.yaml)."""
    return _write_reference(warehouse, "dim_school_types", reference.school_types_frame())


@dg.asset(key=["marts", "dim_stages"], group_name="reference", kinds={"duckdb"}, pool=WAREHOUSE_POOL)
def dim_stages(warehouse: Warehouse) -> dg.MaterializeResult:
    """学段: the stages with their Chinese names and order (contracts/codes/stages.yaml)."""
    return _write_reference(warehouse, "dim_stages", reference.stages_frame())


@dg.asset(key=["marts", "dim_urban_rural"], group_name="reference", kinds={"duckdb"}, pool=WAREHOUSE_POOL)
def dim_urban_rural(warehouse: Warehouse) -> dg.MaterializeResult:
    """城乡分类代码 and their 城区/镇区/乡村 class (contracts/codes/urban_rural.yaml)."""
    return _write_reference(warehouse, "dim_urban_rural", reference.urban_rural_frame())


@dg.asset(key=["marts", "dim_counties"], group_name="reference", kinds={"duckdb"}, pool=WAREHOUSE_POOL)
def dim_counties(warehouse: Warehouse) -> dg.MaterializeResult:
    """The county registry from the landing folder's reference/counties.csv."""
    return _write_reference(warehouse, "dim_counties", reference.read_counties(warehouse.landing_path()))


@dg.asset(
    key=["marts", "certifications"],
    group_name="reference",
    kinds={"duckdb"},
    pool=WAREHOUSE_POOL,
    deps=[["marts", "dim_counties"], ["marts", "standards"]],
)
def certifications(warehouse: Warehouse) -> dg.MaterializeResult:
    """Certified counties per standard from the landing folder's reference/certifications.csv."""
    with warehouse.connect() as con:  # the registry and standards as loaded by the upstream assets
        counties = [r[0] for r in con.execute(sql("warehouse/county_codes")).fetchall()]
        standard_ids = [r[0] for r in con.execute(sql("warehouse/standard_ids")).fetchall()]
    certified = reference.read_certifications(warehouse.landing_path(), counties, standard_ids)
    return _write_reference(warehouse, "certifications", certified)
