from benchmarks import common

OLD = """
Measured on a machine, by `python -m benchmarks`:

| comparison | plain ms | keras_lcw ms | ratio | step ratio min | step ratio max |
|---|---|---|---|---|---|
| A / a | 1.00 | 1.00 | 1.000 | 1.000 | 1.000 |
| B / b | 1.00 | 1.00 | 1.000 | 1.000 | 1.000 |
| C / c | 1.00 | 1.00 | 1.000 | 1.000 | 1.000 |
"""


def test_merged_table_replaces_the_rows_of_the_benchmarks_run():
    table = common.merged_table(
        OLD,
        {
            "first": ["| A / a | 2 |", "| A2 / a | 2 |"],
            "third": ["| C / c | 3 |"],
            "new": ["| D / d | 4 |"],
        },
    )
    assert table.splitlines() == common.TABLE_HEADER + [
        "| A / a | 2 |",
        "| A2 / a | 2 |",
        "| B / b | 1.00 | 1.00 | 1.000 | 1.000 | 1.000 |",
        "| C / c | 3 |",
        "| D / d | 4 |",
    ]


FULL = "Measured on m0, version 2.21.0, by `python -m benchmarks --seed 0`:"
GMP = "Measured on m1, version 2.21.0, by `python -m benchmarks --seed 0 --only gmp,lcw`: the rows of gmp, lcw."
NORM = "Measured on m2, by `python -m benchmarks --seed 0 --only weight_norm`: the rows of weight_norm."


def test_a_partial_run_keeps_the_provenance_of_the_rows_it_keeps():
    after_gmp = common.merged_header(FULL, GMP, ["gmp", "lcw"])
    assert after_gmp == f"{GMP} The other rows are kept from the run before. {FULL}"
    after_norm = common.merged_header(after_gmp, NORM, ["weight_norm"])
    assert after_norm == f"{NORM} {GMP} The other rows are kept from the run before. {FULL}"
    # A later run of lcw leaves the earlier one the gmp rows alone.
    lcw = "Measured on m3, by `python -m benchmarks --seed 0 --only lcw`: the rows of lcw."
    assert common.merged_header(after_norm, lcw, ["lcw"]) == (
        f"{lcw} {NORM} {GMP[: GMP.rindex('the rows of')]}the rows of gmp. "
        f"The other rows are kept from the run before. {FULL}"
    )
    # Every earlier partial run superseded: only the full run stays.
    assert common.merged_header(after_norm, GMP, ["gmp", "lcw", "weight_norm"]) == (
        f"{GMP} The other rows are kept from the run before. {FULL}"
    )
