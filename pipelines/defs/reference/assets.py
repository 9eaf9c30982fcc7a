"""Reference tables: the standards files, the code lists and the county registry."""

import dagster as dg

from pipelines.defs.resources import WAREHOUSE_POOL, Warehouse
from pipelines.lib import reference
from pipelines.lib.paths import MODELS_DIR
from pipelines.lib.standards import STANDARD_TABLE_DOCS, load_standards, standard_tables
from pipelines.lib.warehouse import replace_table


@dg.multi_asset(
    specs=[
        dg.AssetSpec(["marts", table], description=doc[0], group_name="marts", kinds={"duckdb"})
        for table, doc in STANDARD_TABLE_DOCS.items()
    ],
    pool=WAREHOUSE_POOL,
)
def standards_tables(warehouse: Warehouse):
    """Load models/standards/*.yaml into the tables the SQL models join."""
    tables = standard_tables(load_standards(MODELS_DIR / "standards"))
    with warehouse.connect() as con:
        for table, frame in tables.items():
            description, columns = STANDARD_TABLE_DOCS[table]
            rows = replace_table(con, f"marts.{table}", frame, description, columns)
            yield dg.MaterializeResult(
                asset_key=["marts", table], metadata={"rows": dg.MetadataValue.int(rows)}
            )


@dg.asset(key=["marts", "dim_school_types"], group_name="marts", kinds={"duckdb"}, pool=WAREHOUSE_POOL)
def dim_school_types(warehouse: Warehouse) -> dg.MaterializeResult:
    """办学类型 codes and the stages each type teaches (contracts/codes/school_types.yaml)."""
    frame = reference.school_types_frame()
    with warehouse.connect() as con:
        replace_table(
            con,
            "marts.dim_school_types",
            frame,
            "One row per school_type_code (GB/T 33782-2017) with the stages the type teaches.",
            {
                "school_type_code": "办学类型 code.",
                "name_zh": "Chinese name.",
                "name_en": "English name.",
                "stages": "Stages the type teaches; senior only weighs facility splits.",
            },
        )
    return dg.MaterializeResult(metadata={"rows": frame.height})


@dg.asset(key=["marts", "dim_urban_rural"], group_name="marts", kinds={"duckdb"}, pool=WAREHOUSE_POOL)
def dim_urban_rural(warehouse: Warehouse) -> dg.MaterializeResult:
    """城乡分类代码 and their 城区/镇区/乡村 class (contracts/codes/urban_rural.yaml)."""
    frame = reference.urban_rural_frame()
    with warehouse.connect() as con:
        replace_table(
            con,
            "marts.dim_urban_rural",
            frame,
            "One row per urban_rural_code (城乡分类代码) with its area class.",
            {
                "urban_rural_code": "城乡分类代码.",
                "name_zh": "Chinese name.",
                "area_class": "城区, 镇区 or 乡村.",
            },
        )
    return dg.MaterializeResult(metadata={"rows": frame.height})


@dg.asset(key=["marts", "dim_counties"], group_name="marts", kinds={"duckdb"}, pool=WAREHOUSE_POOL)
def dim_counties(warehouse: Warehouse) -> dg.MaterializeResult:
    """The county registry from the landing folder's reference/counties.csv."""
    frame = reference.read_counties(warehouse.landing_path())
    with warehouse.connect() as con:
        replace_table(
            con,
            "marts.dim_counties",
            frame,
            "One row per county_code: the county registry (reference/counties.csv).",
            {
                "county_code": "6-digit GB/T 2260 county code.",
                "county_name": "县区名称.",
                "prefecture_code": "4-digit prefecture code.",
                "prefecture_name": "地市名称.",
                "province_code": "2-digit province code.",
                "province_name": "省份名称.",
            },
        )
    return dg.MaterializeResult(metadata={"rows": frame.height})
